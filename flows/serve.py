"""Deployments: scheduled ingests from config/schedules.toml, plus backfill and reprocess.

`newslake serve` registers them with a Prefect API and runs them in this process when they are
due (`prefect.serve`). Schedules need a real Prefect server (the ephemeral one cannot schedule):
when `PREFECT_API_URL` is not set, `local_server` (`flows/prefect_api.py`) starts `prefect
server start` on 127.0.0.1 and this process is pointed at it. A scheduled ingest never overlaps
itself: its deployment's concurrency limit is one, and a run that comes due while the last one
still runs is cancelled (the next run picks up whatever it would have fetched, because ingest is
incremental).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError
from tasks.settings import CONFIG_DIR

__all__ = ["Schedule", "build_deployments", "load_schedules"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One scheduled ingest, as config/schedules.toml declares it."""

    name: str
    cron: str
    timezone: str = "UTC"
    sources: str | None = None
    inputs: tuple[str, ...] = ()
    lake: str | None = None

    def parameters(self) -> dict[str, Any]:
        """The ingest flow's parameters for this schedule's runs."""
        params: dict[str, Any] = {"inputs": list(self.inputs), "sources": self.sources}
        if self.lake:
            params["lake"] = self.lake
        return params


def _schedule(entry: dict[str, Any], where: str) -> Schedule:
    from prefect.client.schemas.schedules import CronSchedule

    unknown = set(entry) - {"name", "cron", "timezone", "sources", "inputs", "lake"}
    if unknown:
        msg = f"{where}: unknown key(s) {', '.join(sorted(unknown))}"
        raise ConfigError(msg)
    try:
        schedule = Schedule(
            name=str(entry["name"]),
            cron=str(entry["cron"]),
            timezone=str(entry.get("timezone", "UTC")),
            sources=entry.get("sources"),
            inputs=tuple(entry.get("inputs", ())),
            lake=entry.get("lake"),
        )
    except KeyError as exc:
        msg = f"{where}: missing {exc.args[0]!r}"
        raise ConfigError(msg) from exc
    if not _NAME.match(schedule.name):
        msg = f"{where}: name {schedule.name!r} may hold only letters, digits and dashes"
        raise ConfigError(msg)
    try:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    except ValueError as exc:
        msg = f"{where} ({schedule.name}): {exc}"
        raise ConfigError(msg) from exc
    if not schedule.sources and not schedule.inputs:
        msg = f"{where} ({schedule.name}): give `sources` or `inputs`: nothing to ingest"
        raise ConfigError(msg)
    return schedule


def load_schedules(path: Path | None = None) -> list[Schedule]:
    """The [[schedule]] entries of config/schedules.toml, validated."""
    path = path or Path(os.environ.get("NEWSLAKE_CONFIG", CONFIG_DIR)) / "schedules.toml"
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text()).get("schedule", [])
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from exc
    schedules = [_schedule(e, f"{path} [[schedule]] #{i + 1}") for i, e in enumerate(entries)]
    names = [s.name for s in schedules]
    if len(set(names)) != len(names):
        msg = f"{path}: schedule names must be unique"
        raise ConfigError(msg)
    return schedules


def build_deployments(schedules: list[Schedule]) -> list[Any]:
    """A deployment per schedule of the ingest flow, and on-demand backfill and reprocess."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    from flows.backfill import backfill
    from flows.ingest import ingest
    from flows.reprocess import reprocess

    no_overlap = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    deployments = [
        ingest.to_deployment(
            name=s.name,
            schedule=Cron(s.cron, timezone=s.timezone),
            parameters=s.parameters(),
            concurrency_limit=no_overlap,
            tags=["newslake", "scheduled"],
            description=f"Scheduled ingest ({s.cron}, {s.timezone}).",
        )
        for s in schedules
    ]
    deployments.append(backfill.to_deployment(name="on-demand", tags=["newslake"]))
    deployments.append(reprocess.to_deployment(name="on-demand", tags=["newslake"]))
    return deployments
