"""A run's staging: each batch's rows, written where readers never look until the commit.

`LAKE/_staging/<run_id>/<table>/<batch>.parquet`, outside every table root (DuckDB and polars
globbing a table never see it). Workers stage their batches; the commit (tasks/lake/commit.py)
reads them back, merges them into the tables and then drops the run's staging. What a killed
run leaves here is folded in by the next run (`settle_lake`).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import polars as pl

from newslake.tasks.lake.store import Lake, LakeLike, as_lake
from newslake.tasks.lake.tables import PARTITION, SCHEMAS, TableName

__all__ = [
    "STAGING",
    "Staging",
    "drop_staging",
    "read_staged",
    "read_staged_batches",
    "stage_frame",
]

STAGING = "_staging"


def _staging(lake: Lake, run_id: str, *parts: str) -> str:
    return lake.path(STAGING, run_id, *parts)


def stage_frame(
    lake: LakeLike, run_id: str, table: TableName, batch: int, frame: pl.DataFrame
) -> str | None:
    """Stage one batch's rows of `table` for the run's commit (invisible to readers); the
    staged file's path, or None when there were no rows."""
    if not frame.height:
        return None
    lake = as_lake(lake)
    path = _staging(lake, run_id, table, f"{batch:012d}.parquet")
    lake.write(frame, path)
    return path


class Staging:
    """A run's staged files: listed once when its commit starts (one listing of
    `_staging/<run>/`), then kept in step with the changes the commit makes to them itself. On
    an object store every listing is a request, and a commit asks for a table's files often."""

    def __init__(self, lake: Lake, run_id: str) -> None:
        self.lake, self.run_id = lake, run_id
        root = _staging(lake, run_id)
        self._files: dict[str, set[str]] = {}
        for path in lake.find(root):
            parts = PurePosixPath(path).relative_to(root).parts
            if len(parts) == 2 and parts[1].endswith(".parquet"):
                self._files.setdefault(parts[0], set()).add(path)

    def files(self, table: TableName) -> list[str]:
        """The run's staged files of `table`, in batch order."""
        return sorted(self._files.get(table, ()))

    def tables(self) -> dict[str, list[str]]:
        """Every table the run staged, with its files."""
        return {table: sorted(files) for table, files in self._files.items() if files}

    def write(self, table: TableName, batch: int, frame: pl.DataFrame) -> None:
        """Stage (more) rows of `table` under a batch number."""
        path = stage_frame(self.lake, self.run_id, table, batch, frame)
        if path is not None:
            self._files.setdefault(table, set()).add(path)

    def replace(self, path: str, frame: pl.DataFrame) -> None:
        """Replace a staged file with these rows (none: remove it)."""
        if frame.is_empty():
            self.remove(path)
        else:
            self.lake.write(frame, path)

    def remove(self, path: str) -> None:
        self.lake.remove(path)
        for files in self._files.values():
            files.discard(path)

    def sources(self, table: TableName) -> pl.Series:
        """The distinct `source` values the run staged for `table`."""
        files = self.files(table)
        if not files:
            return pl.Series("source", [], dtype=pl.String)
        return self.lake.read(files, ["source"])["source"].unique()


def read_staged(lake: Lake, files: list[str], table: TableName) -> pl.DataFrame:
    schema = pl.Schema({**SCHEMAS[table], PARTITION: pl.Date()})
    if not files:
        return pl.DataFrame(schema=schema)
    return lake.read(files).select(list(schema)).cast(schema)


def read_staged_batches(lake: Lake, files: list[str], table: TableName) -> pl.DataFrame:
    """A table's staged rows with the number of the file (batch) each came from, `_batch`: a
    row staged again later in the run replaces an earlier one."""
    return pl.concat(
        [read_staged(lake, [f], table).with_columns(pl.lit(i).alias("_batch"))
         for i, f in enumerate(files)]
    )  # fmt: skip


def drop_staging(lake: LakeLike, run_id: str) -> None:
    """Remove a finished run's staging directory."""
    lake = as_lake(lake)
    lake.remove_tree(_staging(lake, run_id))
