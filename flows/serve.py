"""Deployments: scheduled ingests from config/schedules.toml, plus backfill and reprocess.

`newslake serve` registers them with a Prefect API and runs them in this process when they are
due (`prefect.serve`). Schedules need a real Prefect server (the ephemeral one cannot schedule):
when `PREFECT_API_URL` is not set, `local_server` starts `prefect server start` on 127.0.0.1 and
points this process at it. A scheduled ingest never overlaps itself: its deployment's
concurrency limit is one, and a run that comes due while the last one still runs is cancelled
(the next run picks up whatever it would have fetched, because ingest is incremental).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tasks.errors import ConfigError
from tasks.settings import CONFIG_DIR

__all__ = ["Schedule", "build_deployments", "load_schedules", "local_server"]

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


@contextmanager
def local_server(port: int = 4200, timeout_s: float = 90.0) -> Iterator[str]:
    """Run `prefect server start` on 127.0.0.1 for as long as the block runs; yield its API URL.

    Its database lives in PREFECT_HOME, so deployments and run history survive a restart; its
    output goes to `server.log` there.
    """
    from prefect.settings import PREFECT_HOME

    api = f"http://127.0.0.1:{port}/api"
    log_path = Path(PREFECT_HOME.value()) / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                msg = f"the Prefect server did not start (port {port} in use?): see {log_path}"
                raise ConfigError(msg)
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                msg = f"the Prefect server did not answer on {api} within {timeout_s:.0f} s"
                raise ConfigError(msg)
            time.sleep(0.5)
        yield api
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
