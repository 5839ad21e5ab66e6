"""The lake's own run log: one row per flow run, so `newslake runs` works without Prefect.

Prefect's database says what ran on one Prefect server; the run log travels with the lake, so a
lake copied to object storage or another machine still tells what wrote it. It is append-only:
each run writes one file, `LAKE/runs/date=YYYY-MM-DD/part-<run_id>.parquet`, atomically.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from newslake.tasks.lake.commit import write_part
from newslake.tasks.lake.store import Lake, LakeLike
from newslake.tasks.lake.tables import RUNS, conform

__all__ = ["record_run", "recent_runs"]


def record_run(lake: LakeLike, row: dict[str, Any]) -> None:
    """Append one run's row (the RUNS columns) to the run log."""
    frame = pl.DataFrame([row], schema=RUNS, orient="row")
    started: datetime = row["started_at"]
    write_part(lake, "runs", started.date(), f"part-{row['run_id']}.parquet", frame)


def recent_runs(lake: LakeLike, limit: int = 20) -> pl.DataFrame:
    """The latest runs, newest first (LakeNotFoundError when there is no lake there)."""
    lake = lake if isinstance(lake, Lake) else Lake.existing(lake)
    files = lake.partition_files("runs")
    if not files:
        return RUNS.to_frame()
    frame = pl.concat([conform(f, RUNS) for f in lake.read_each(files).values()])
    return frame.sort("started_at", descending=True).head(limit)
