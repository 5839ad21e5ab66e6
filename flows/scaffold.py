"""What every flow run does around its pages: one scaffold, so each flow reads as where its
pages come from.

`open_run` resolves the run's settings (the flow's `lake` and `workers` over config/ and the
environment), names the run, takes the lake's lock, and when the flow's body is done fills the
summary (totals, commit counts, time, a note when nothing was read) and publishes it to the
run log and Prefect. A body that raises publishes nothing: the run failed, and Prefect says so.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import duckdb

from newslake.flows.report import RunSummary, publish
from newslake.flows.serve import leave_ctrl_c_to_serve
from newslake.tasks.errors import ConfigError, NewslakeError
from newslake.tasks.lake.commit import CommitStats, lake_lock
from newslake.tasks.lake.health import outlet_changes
from newslake.tasks.lake.store import Lake
from newslake.tasks.pages.batch import BatchResult
from newslake.tasks.settings import Settings, load_settings

__all__ = ["Run", "check_range", "open_run"]

logger = logging.getLogger("newslake")


@dataclass(kw_only=True)
class Run:
    """One flow run in progress: what its body reads and what it fills in."""

    settings: Settings
    run_id: str
    lake: Lake
    summary: RunSummary
    totals: BatchResult = field(default_factory=BatchResult)
    tables: dict[str, CommitStats] = field(default_factory=dict)
    # Said in the summary when the run read no page ("nothing to ingest: …").
    nothing: str = ""


def _settings(settings: Settings | None, lake: str | None, workers: int | None) -> Settings:
    """The given settings (or config/ and the environment), with the flow's lake and workers."""
    settings = settings or load_settings()
    if lake is not None:
        settings = replace(settings, lake=lake)
    if workers is not None:
        settings = replace(settings, run=replace(settings.run, workers=workers))
    return settings


def _run_id() -> str:
    """A run id that sorts by start time and never repeats."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@contextmanager
def open_run(
    flow: str, settings: Settings | None, lake: str | None, workers: int | None
) -> Iterator[Run]:
    """A run of `flow` holding its lake's lock; its summary is published when the body ends."""
    started = time.perf_counter()
    leave_ctrl_c_to_serve()
    settings = _settings(settings, lake, workers)
    store = Lake.of(settings.lake)
    run_id = _run_id()
    run = Run(
        settings=settings,
        run_id=run_id,
        lake=store,
        summary=RunSummary(run_id=run_id, lake=store.url, flow=flow),
    )
    with lake_lock(store):
        yield run
        run.summary.outlets = _outlet_changes(run)
    run.summary.absorb(run.totals, run.tables)
    if not run.summary.pages and run.nothing:
        run.summary.note = run.nothing
    run.summary.seconds = time.perf_counter() - started
    publish(run.summary, store)


def _outlet_changes(run: Run) -> list[dict[str, Any]]:
    """The outlets whose health status this run changed (`tasks/lake/health.py`). Judging them
    is a report on a committed run: if it fails, the run still stands, and says so."""
    domains = {domain for domain, measure in run.totals.by_domain if measure == "pages"}
    try:
        return outlet_changes(
            run.lake, run.settings.health, sorted(domains), sorted(run.totals.days)
        )
    except (NewslakeError, duckdb.Error, OSError) as exc:
        logger.warning("outlet health not judged: %s", exc)
        return []


def check_range(start: date, end: date, flow: str) -> None:
    """Refuse a date range that ends before it starts."""
    if end < start:
        msg = f"{flow} range ends ({end}) before it starts ({start})"
        raise ConfigError(msg)
