"""The lake on disk: hive-partitioned Parquet tables, written atomically and idempotently.

Layout: `LAKE/<table>/date=YYYY-MM-DD/part-0.parquet`, one file per partition. A run first
*stages* each batch under `LAKE/_staging/<run_id>/` (outside every table root, so readers never
see it), then *commits*: for each partition the run touches it merges the staged rows with the
rows already there (a re-ingested page replaces its row; an unchanged page keeps its old row),
writes the merged file beside the lake and `os.replace`s it over `part-0.parquet`. A reader sees
the old partition or the new one, never half of either, and a run killed at any point leaves the
tables as they were before its commit of that partition. `LAKE/_lock` keeps two runs from
writing the same lake at once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from prefect import task

from tasks.errors import NewslakeError
from tasks.tables import CONTENT, KEYS, PARTITION, SCHEMAS, TableName

__all__ = [
    "CommitStats",
    "LakeBusyError",
    "commit_children",
    "commit_table",
    "drop_staging",
    "lake_lock",
    "stage_frame",
    "sources_in",
    "staged_sources",
    "table_root",
    "write_part",
]

_PART = "part-0.parquet"
_STAGING = "_staging"


class LakeBusyError(NewslakeError):
    """Another run holds the lake's lock."""

    def __init__(self, lake: Path) -> None:
        self.lake = lake
        super().__init__(
            f"another newslake run is writing to {str(lake)!r}; try again when it ends"
        )


@dataclass(frozen=True, kw_only=True)
class CommitStats:
    """What a commit did to one table."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    partitions: int = 0


def table_root(lake: Path, table: TableName) -> Path:
    """The directory that holds `table`'s partitions."""
    return lake / table


def _staging(lake: Path, run_id: str) -> Path:
    return lake / _STAGING / run_id


@contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """Hold the lake's lock for a run, or raise LakeBusyError at once if another run holds it.

    On entry, staging left behind by killed runs is removed: holding the lock proves no run owns it.
    """
    lake.mkdir(parents=True, exist_ok=True)
    with (lake / "_lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LakeBusyError(lake) from exc
        shutil.rmtree(lake / _STAGING, ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_write(frame: pl.DataFrame, target: Path, scratch: Path) -> None:
    """Write `frame` to `target` through a temporary file on the same filesystem."""
    scratch.mkdir(parents=True, exist_ok=True)
    tmp = scratch / f".{uuid.uuid4().hex}.parquet.tmp"
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)


def stage_frame(lake: Path, run_id: str, table: TableName, batch: int, frame: pl.DataFrame) -> None:
    """Stage one batch's rows of `table` for the run's commit (invisible to readers)."""
    if frame.height:
        staging = _staging(lake, run_id)
        _atomic_write(frame, staging / table / f"{batch:06d}.parquet", staging / "tmp")


def _partition_file(lake: Path, table: TableName, day: date) -> Path:
    return table_root(lake, table) / f"{PARTITION}={day.isoformat()}" / _PART


def _read_partition(path: Path, table: TableName) -> pl.DataFrame:
    if not path.exists():
        return SCHEMAS[table].to_frame()
    return pl.read_parquet(path, hive_partitioning=False).select(SCHEMAS[table].names())


def _replace_partition(
    path: Path, merged: pl.DataFrame, existing: pl.DataFrame, staging: Path
) -> None:
    """Put a partition's merged rows in place: nothing when they equal what is there (a re-run
    rewrites no file), removal when none are left, else an atomic replace."""
    if merged.height == 0:
        path.unlink(missing_ok=True)
        if path.parent.exists():
            path.parent.rmdir()
    elif not merged.equals(existing):
        _atomic_write(merged, path, staging / "tmp")


def _days_holding(lake: Path, table: TableName, column: str, values: pl.Series) -> list[date]:
    """Partitions that already hold one of `values` in `column`: rows that must leave them."""
    root = table_root(lake, table)
    if values.is_empty() or not any(root.glob(f"{PARTITION}=*/{_PART}")):
        return []
    found = (
        pl.scan_parquet(root, hive_partitioning=True, hive_schema={PARTITION: pl.Date})
        .select(column, PARTITION)
        .filter(pl.col(column).is_in(values.implode()))
        .select(PARTITION)
        .unique()
        .collect()
    )
    return found[PARTITION].to_list()


def staged_sources(lake: Path, run_id: str, table: TableName) -> pl.Series:
    """The distinct `source` values the run staged for `table`."""
    files = sorted((_staging(lake, run_id) / table).glob("*.parquet"))
    if not files:
        return pl.Series("source", [], dtype=pl.String)
    return pl.scan_parquet(files).select("source").unique().collect()["source"]


@task(name="commit-table", task_run_name="commit-{table}")
def commit_table(
    lake: Path, run_id: str, table: TableName, resolved: pl.Series | None = None
) -> CommitStats:
    """Merge the run's staged rows of `table` into the lake, one atomic partition at a time.

    Within the run the last row staged for a key wins (the others count as duplicates). Against
    the lake, a row whose content column is unchanged keeps its old version, so re-ingesting the
    same pages rewrites nothing that a reader could tell apart. Rows whose `source` is in
    `resolved` are removed: a page rejected by an earlier run that is an article now.
    """
    staged_dir = _staging(lake, run_id) / table
    files = sorted(staged_dir.glob("*.parquet"))
    resolved = resolved if resolved is not None else pl.Series("source", [], dtype=pl.String)
    if not files and resolved.is_empty():
        return CommitStats()
    key, content = KEYS[table], CONTENT[table]
    schema: dict[str, pl.DataType] = {**SCHEMAS[table], PARTITION: pl.Date()}
    staged_all = pl.scan_parquet(files, schema=schema) if files else pl.LazyFrame(schema=schema)
    total = staged_all.select(pl.len()).collect().item()
    staged = staged_all.unique(subset=key, keep="last", maintain_order=True).collect()
    old_days = _days_holding(lake, table, key, staged[key])
    gone_days = _days_holding(lake, table, "source", resolved)
    days = sorted(set(staged[PARTITION].to_list()) | set(old_days) | set(gone_days))
    new = updated = unchanged = 0
    for day in days:
        path = _partition_file(lake, table, day)
        existing = _read_partition(path, table)
        incoming = staged.filter(pl.col(PARTITION) == day).drop(PARTITION)
        before = existing.filter(pl.col(key).is_in(staged[key].implode()))
        same = incoming.join(before, on=[key, content], how="semi")
        changed = incoming.join(same, on=key, how="anti")
        kept = existing.filter(~pl.col(key).is_in(changed[key].implode()))
        kept = kept.filter(
            ~pl.col(key).is_in(staged.filter(pl.col(PARTITION) != day)[key].implode())
            & ~pl.col("source").is_in(resolved.implode())
        )
        merged = pl.concat([kept, changed]).sort(key)
        unchanged += same.height
        updated += changed.join(before, on=key, how="semi").height
        _replace_partition(path, merged, existing.sort(key), _staging(lake, run_id))
    new = staged.height - updated - unchanged
    return CommitStats(
        new=new,
        updated=updated,
        unchanged=unchanged,
        duplicates=total - staged.height,
        partitions=len(days),
    )


@task(name="commit-children", task_run_name="commit-{table}")
def commit_children(lake: Path, run_id: str, table: TableName) -> CommitStats:
    """Merge a child table (entities, quotes): each staged article's rows replace all the rows
    that article had, wherever its old partition was. An article staged twice in one run keeps
    the rows of its last batch, like the article itself."""
    files = sorted((_staging(lake, run_id) / table).glob("*.parquet"))
    if not files:
        return CommitStats()
    schema: dict[str, pl.DataType] = {**SCHEMAS[table], PARTITION: pl.Date()}
    scanned = pl.scan_parquet(files, schema=schema, include_file_paths="_file").collect()
    last = scanned.group_by("article_id").agg(pl.col("_file").max())
    staged = scanned.join(last, on=["article_id", "_file"], how="semi").drop("_file")
    ids = staged["article_id"].unique()
    days = sorted(
        set(staged[PARTITION].to_list()) | set(_days_holding(lake, table, "article_id", ids))
    )
    order = ["article_id", KEYS[table]]
    for day in days:
        path = _partition_file(lake, table, day)
        existing = _read_partition(path, table)
        kept = existing.filter(~pl.col("article_id").is_in(ids.implode()))
        incoming = staged.filter(pl.col(PARTITION) == day).drop(PARTITION)
        merged = pl.concat([kept, incoming]).sort(order)
        _replace_partition(path, merged, existing.sort(order), _staging(lake, run_id))
    return CommitStats(new=staged.height, partitions=len(days))


def sources_in(lake: Path, table: TableName) -> set[str]:
    """Every `source` a table holds: the inputs and URLs the lake has already dealt with."""
    root = table_root(lake, table)
    if not any(root.glob(f"{PARTITION}=*/{_PART}")):
        return set()
    frame = pl.scan_parquet(root, hive_partitioning=True).select("source").unique().collect()
    return set(frame["source"].to_list())


def write_part(lake: Path, table: str, day: date, name: str, frame: pl.DataFrame) -> None:
    """Write one file of an append-only table (the raw zone) atomically into its partition.

    The name is fixed by the caller (run and chunk), so writing the same chunk again replaces
    its file rather than adding a second copy.
    """
    partition = lake / table / f"{PARTITION}={day.isoformat()}"
    _atomic_write(frame, partition / name, lake / _STAGING / "parts")


def drop_staging(lake: Path, run_id: str) -> None:
    """Remove a finished run's staging directory."""
    shutil.rmtree(_staging(lake, run_id), ignore_errors=True)
