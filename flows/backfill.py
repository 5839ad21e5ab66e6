"""The `backfill` flow: one-off ingest of everything an outlet published in a date range.

It discovers the outlets' candidates dated in the range (sitemaps, feeds) and takes the local
files whose names carry a day in the range (WARC archives such as `…-20220901-….warc.gz`),
fetches into the raw zone what it has not fetched before (one polite fetcher for all days), then
processes each day as its own task: days run in parallel on the task runner, a failed day is
retried alone, and each day's rows are committed partition by partition (atomically). A second
run of the same backfill finds the pages in the raw zone, fetches nothing and leaves the lake
as it was.
"""

from __future__ import annotations

import re
from datetime import UTC, date
from pathlib import Path, PurePosixPath

from prefect import flow, get_run_logger

from newslake.flows.pipeline import run_days
from newslake.flows.report import RunSummary
from newslake.flows.runners import configured_runner
from newslake.flows.scaffold import check_range, open_run
from newslake.tasks.pages.day import DayInputs
from newslake.tasks.pages.load import resolve_inputs
from newslake.tasks.settings import Settings
from newslake.tasks.web.pages import discover_candidates, fetch_missing
from newslake.tasks.web.sources import is_web_input, web_outlets

__all__ = ["backfill", "day_in_name"]

_DAY_IN_NAME = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})")


def day_in_name(path: str | Path) -> date | None:
    """The first valid calendar day written in a file name (2022-09-01 or 20220901)."""
    for match in _DAY_IN_NAME.finditer(PurePosixPath(str(path)).name):
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


@flow(name="backfill", task_runner=configured_runner())
def backfill(
    start: date,
    end: date,
    sources: str | None = None,
    inputs: list[str] | None = None,
    lake: str | None = None,
    workers: int | None = None,
    settings: Settings | None = None,
) -> RunSummary:
    """Ingest what was published from `start` to `end` (inclusive), one task per day.

    Args:
        start: the first day of the range (UTC).
        end: the last day of the range (UTC).
        sources: a sources file whose outlets' sitemaps and feeds are searched for the range.
        inputs: URLs, URL lists, or files and directories (only files dated in the range count).
        lake: the lake's root; defaults to config/newslake.toml's `lake.root`.
        workers: worker processes (or Dask workers for a LocalCluster).
        settings: resolved settings; read from config/ and the environment when omitted.
    """
    check_range(start, end, "backfill")
    inputs = inputs or []
    files = resolve_inputs([i for i in inputs if not is_web_input(i)])
    outlets = web_outlets([i for i in inputs if is_web_input(i)], sources)
    logger = get_run_logger()
    days: dict[date, DayInputs] = {}
    with open_run("backfill", settings, lake, workers) as run:
        settings, summary = run.settings, run.summary
        if outlets:
            max_bytes = settings.limits.max_page_bytes
            found = discover_candidates(outlets, settings.fetch, max_bytes, start, end)
            summary.web.candidates = len(found.candidates)
            summary.web.discovery_failures = found.failures
            dated = {
                c.url: c.published.astimezone(UTC).date()
                for c in found.candidates
                if c.published is not None
            }
            undated = len(found.candidates) - len(dated)
            if undated:
                logger.warning("%d discovered URL(s) carry no date and are left out", undated)
            fetch_missing(list(dated), settings, run.run_id, summary.web)
            for url, day in dated.items():
                days.setdefault(day, DayInputs()).urls.append(url)
        for path in files:
            named = day_in_name(path)
            if named is not None and start <= named <= end:
                days.setdefault(named, DayInputs()).files.append(path)
        if not days:
            run.nothing = f"nothing to backfill: no page or file is dated in {start}..{end}"
        run.totals, run.tables = run_days(days, settings, run.run_id, summary)
    return run.summary
