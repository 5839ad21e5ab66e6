"""The `reprocess` flow: extract and enrich again, from the raw zone, with no network.

After an upgrade of newslake or trafilatura, or a change to config/extract.toml, a user re-derives
a date range: every page whose article or reject lies in the range's partitions is read back from
`LAKE/raw/` and processed again, a day per task, and its rows replace the old ones (each row's
`extractor_version` says which code produced it). Pages that came from local files are not in
the raw zone; the run says how many, and ingesting those files again re-derives them.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import flow, get_run_logger

from newslake.flows.pipeline import run_days
from newslake.flows.report import RunSummary
from newslake.flows.runners import configured_runner
from newslake.flows.scaffold import check_range, open_run
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import PARTITION
from newslake.tasks.pages.day import DayInputs
from newslake.tasks.settings import Settings
from newslake.tasks.web.raw import fetch_state

__all__ = ["reprocess"]


def _pages_in_range(lake: Lake, start: date, end: date) -> pl.DataFrame:
    """`source` and partition day of every article and reject in [start, end]."""
    frames = [
        lake.read(
            [f for f in lake.partition_files(table) if start <= lake.day_of(f) <= end],
            ["source"],
            hive=True,
        )
        for table in ("articles", "rejects")
    ]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema={"source": pl.String(), PARTITION: pl.Date()})
    return pl.concat(frames).unique("source", keep="first")


@flow(name="reprocess", task_runner=configured_runner())
def reprocess(
    start: date,
    end: date,
    lake: str | None = None,
    workers: int | None = None,
    settings: Settings | None = None,
) -> RunSummary:
    """Re-derive the articles, rejects, entities and quotes of [start, end] from the raw zone.

    Args:
        start: the first partition day of the range.
        end: the last partition day of the range.
        lake: the lake's root; defaults to config/newslake.toml's `lake.root`.
        workers: worker processes (or Dask workers for a LocalCluster).
        settings: resolved settings; read from config/ and the environment when omitted.
    """
    check_range(start, end, "reprocess")
    with open_run("reprocess", settings, lake, workers) as run:
        pages = _pages_in_range(run.lake, start, end)
        in_raw = pages.filter(pl.col("source").is_in(fetch_state(run.lake)["url"].implode()))
        if pages.height > in_raw.height:
            get_run_logger().warning(
                "%d page(s) in the range came from local files, not the raw zone: "
                "ingest those files again to re-derive them",
                pages.height - in_raw.height,
            )
        days: dict[date, DayInputs] = {}
        for source, day in in_raw.select("source", PARTITION).iter_rows():
            days.setdefault(day, DayInputs()).urls.append(source)
        if not days:
            run.nothing = (
                "nothing to reprocess: no article or reject from the raw zone lies in "
                f"{start}..{end}"
            )
        run.totals, run.tables = run_days(days, run.settings, run.run_id, run.summary)
    return run.summary
