"""One day of a backfill or a reprocess: its pages from the raw zone and dated files, processed.

A day is the unit that runs in parallel and is retried alone: if a worker dies or storage
fails, the day's task runs again from its inputs, which are already on disk (the raw zone and
the files), and stages its rows again under the same names, so a retry never doubles a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import chain

from prefect import task
from prefect.cache_policies import NO_CACHE

from newslake.tasks.lake.staging import drop_staging
from newslake.tasks.lake.store import Lake
from newslake.tasks.pages.batch import BatchResult, process_in_turn
from newslake.tasks.pages.load import iter_pages
from newslake.tasks.settings import Settings
from newslake.tasks.web.raw import raw_items

__all__ = ["DayInputs", "day_run_id", "process_day"]


@dataclass(kw_only=True)
class DayInputs:
    """What one day is made of: URLs whose pages are in the raw zone (and the raw-zone files
    that hold them, when the flow has looked them up), and files."""

    urls: list[str] = field(default_factory=list)
    raw_files: list[str] | None = None
    files: list[str] = field(default_factory=list)  # local paths or fsspec URLs


def day_run_id(run_id: str, day: date) -> str:
    """The run id a day's rows carry, and the name of its staging folder."""
    return f"{run_id}-{day.isoformat()}"


@task(
    name="process-day",
    task_run_name="day-{day}",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def process_day(day: date, inputs: DayInputs, *, settings: Settings, run_id: str) -> BatchResult:
    """Process one day's pages (no network: fetched pages come from the raw zone)."""
    lake = Lake.of(settings.lake)
    rid = day_run_id(run_id, day)
    drop_staging(lake, rid)  # what an earlier attempt of this day staged
    fetched = raw_items(lake, inputs.urls, inputs.raw_files)
    items = chain(fetched, iter_pages(inputs.files, settings.limits))
    return process_in_turn(items, settings=settings, run_id=rid)
