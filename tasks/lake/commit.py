"""The lake's tables: hive-partitioned Parquet, written atomically and idempotently.

Layout: `LAKE/<table>/date=YYYY-MM-DD/part-<writer>.parquet` (`tasks/lake/partitions.py`). A
run first *stages* each batch under `LAKE/_staging/<run_id>/` (`tasks/lake/staging.py`,
outside every table root, so readers never see it), then *commits*: rows new to a day are added
to it as the run's own file; a day where the run changes rows (a re-ingested page replaces its
row; an unchanged page keeps its old row) is merged into one new file that replaces the day's
files (`tasks/lake/store.py` writes under a temporary name and moves it into place).
A reader sees the old partition or the new one, never half of either, and a run killed at any
point leaves the tables as they were before its commit of that partition. The lake's lock keeps
two runs from writing the same lake at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from threading import Lock

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from newslake.tasks.lake.index import (
    KINDS,
    LakeIndex,
    fold_staging,
    index_columns,
    index_is_built,
    index_rows,
    rebuild_index,
)
from newslake.tasks.lake.partitions import add_to_day, compact_lake, read_day, replace_day
from newslake.tasks.lake.staging import STAGING, Staging, read_staged, read_staged_batches
from newslake.tasks.lake.store import Lake, LakeBusyError, LakeLike, as_lake, side_by_side
from newslake.tasks.lake.tables import CONTENT, KEYS, PARTITION, SCHEMAS, TableName

__all__ = [
    "CommitStats",
    "LakeBusyError",
    "commit_children",
    "commit_table",
    "known_sources",
    "lake_lock",
    "settle_lake",
    "write_part",
]


@dataclass(frozen=True, kw_only=True)
class CommitStats:
    """What a commit did to one table."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    partitions: int = 0


@contextmanager
def lake_lock(lake: LakeLike) -> Iterator[None]:
    """Hold the lake's lock for a run, or raise LakeBusyError at once if another run holds it.

    On entry the lake is settled (`settle_lake`). In a flow run that is a task, retried on a
    storage error like the commit; outside one (`newslake reindex`, tests) it runs plainly.
    """
    lake = as_lake(lake)
    with lake.lock():
        (settle_lake if FlowRunContext.get() else settle_lake.fn)(lake)
        yield


@task(name="settle-lake", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def settle_lake(lake: Lake) -> None:
    """Make the lake ready for a run: index a lake from before the index (once), fold what a
    killed run staged into the index and merge the days it may have been writing (a kill
    between a merged file's write and the removal of the files it replaces leaves rows twice
    in raw reads of the files), then remove that staging. Holding the lock proves no run owns
    it."""
    leftover = lake.find(lake.path(STAGING))
    if not index_is_built(lake):
        rebuild_index(lake)  # from the tables, which hold whatever the killed run committed
    elif leftover:
        runs = {PurePosixPath(p).relative_to(lake.path(STAGING)).parts[0] for p in leftover}
        days = fold_staging(lake, [Staging(lake, run).tables() for run in sorted(runs)])
        compact_lake(lake, list(SCHEMAS), only=days)
    if leftover:
        lake.remove_tree(lake.path(STAGING))


class _Placement:
    """Where the rows a commit touched now live: the index rows of each partition it wrote,
    handed to the index once the table is committed."""

    def __init__(self, table: TableName) -> None:
        self.table = table
        self._lock = Lock()  # days are committed side by side, on threads
        self.days: set[date] = set()
        self.values: dict[str, list[pl.Series]] = {kind.name: [] for kind in KINDS[table]}
        self.rows: list[pl.DataFrame] = []
        self.added: list[pl.DataFrame] = []

    def record(self, day: date, affected: pl.DataFrame, merged: pl.DataFrame) -> None:
        """Note a written day: the rows it held or holds for the staged keys (`affected`) name
        the lookup values whose index rows are re-read from the merged partition."""
        kinds = KINDS[self.table]
        ours = pl.any_horizontal(pl.col(k.key).is_in(affected[k.key].implode()) for k in kinds)
        rows = self._indexed(day, merged.filter(ours))
        with self._lock:
            self.days.add(day)
            for kind in kinds:
                self.values[kind.name].append(affected[kind.key])
            self.rows.append(rows)

    def add(self, day: date, rows: pl.DataFrame) -> None:
        """Note rows added to a day beside its other files: their index rows are added, and the
        index rows of the day's other files stay (their keys may be the same: an article's
        second capture)."""
        indexed = self._indexed(day, rows)
        with self._lock:
            self.added.append(indexed)

    def _indexed(self, day: date, rows: pl.DataFrame) -> pl.DataFrame:
        """The columns of `rows` that index rows are made of, with their day. Index rows are
        made once for all days in `apply`: made a day at a time they were a quarter of a
        commit's CPU on a run spread over hundreds of days (bench/RESULTS.md)."""
        return rows.select(*index_columns(self.table), pl.lit(day).alias(PARTITION))

    def apply(self, index: LakeIndex) -> None:
        if self.added:
            index.add(index_rows(self.table, pl.concat(self.added, how="vertical_relaxed")))
        if not self.days:
            return
        rows = index_rows(self.table, pl.concat(self.rows, how="vertical_relaxed"))
        for kind in KINDS[self.table]:
            index.replace(kind.name, pl.concat(self.values[kind.name]), self.days, rows)


def _days_holding(
    index: LakeIndex, table: TableName, staged: pl.DataFrame, resolved: pl.Series
) -> set[date]:
    """Partitions holding an old row of what the run staged (its key, looked up through the
    table's first index kind), or a row whose source is `resolved`: rows that may have to leave."""
    kind = KINDS[table][0]
    ids = staged[kind.id] if kind.id else None
    days = index.days(kind.name, staged[kind.key], ids)
    if kind.key == "source" and not resolved.is_empty():
        days |= index.days(kind.name, resolved)
    return days


@task(
    name="commit-table",
    task_run_name="commit-{table}",
    retries=2,
    retry_delay_seconds=2,
    cache_policy=NO_CACHE,
)
def commit_table(
    lake: LakeLike,
    run_id: str,
    table: TableName,
    resolved: pl.Series | None = None,
    index: LakeIndex | None = None,
    staging: Staging | None = None,
) -> CommitStats:
    """Merge the run's staged rows of `table` into the lake, each partition atomically (days
    side by side: each is its own write, and on an object store its own round trips).

    Within the run the last row staged for a key wins (the others count as duplicates). Against
    the lake, a row whose content column is unchanged keeps its old version, so re-ingesting the
    same pages rewrites nothing that a reader could tell apart. Rows whose `source` is in
    `resolved` are removed: a page rejected by an earlier run that is an article now. The
    partitions read are the staged days and those the index (`tasks/lake/index.py`) names for
    the staged keys; the index is told where the rows now are. Retried: a commit only merges,
    so running it again after a storage error converges on the same lake.
    """
    lake = as_lake(lake)
    alone = index is None  # a commit of one table, outside a run's commit: it saves the index
    index = index or LakeIndex(lake)
    files = (staging or Staging(lake, run_id)).files(table)
    resolved = resolved if resolved is not None else pl.Series("source", [], dtype=pl.String)
    if not files and resolved.is_empty():
        return CommitStats()
    key, content = KEYS[table], CONTENT[table]
    staged_all = read_staged(lake, files, table)
    staged = staged_all.unique(subset=key, keep="last", maintain_order=True)
    by_source = "source" in SCHEMAS[table]  # only tables with a source can be resolved
    resolved = resolved if by_source else resolved.clear()
    held = _days_holding(index, table, staged, resolved)
    days = sorted(set(staged[PARTITION].to_list()) | held)
    # Split once: filtering the staged rows per day costs days x rows, and a crawl of old pages
    # stages rows on hundreds of days.
    by_day = staged.partition_by(PARTITION, as_dict=True, include_key=False)
    staged_keys = staged[key].implode()
    touched = pl.col(key).is_in(staged_keys)
    if by_source:
        touched = touched | pl.col("source").is_in(resolved.implode())
    empty = staged.clear().drop(PARTITION)
    placement = _Placement(table)

    def commit_day(day: date) -> tuple[int, int]:
        """Write one day; the run's rows there that were (unchanged, updated)."""
        incoming = by_day.get((day,), empty)
        if day not in held:  # no row of the day is touched: the staged rows are only added
            add_to_day(lake, table, day, incoming.sort(key), run_id)
            placement.add(day, incoming)
            return 0, 0
        existing, files, stale = read_day(lake, table, day)
        before = existing.filter(pl.col(key).is_in(staged_keys))
        same = incoming.join(before, on=[key, *content], how="semi")
        changed = incoming.join(same, on=key, how="anti")
        # An existing row stays unless the run staged its key (here changed, or on another day);
        # a row the run staged unchanged stays as it was.
        kept = existing.filter(
            ~pl.col(key).is_in(staged_keys) | pl.col(key).is_in(same[key].implode())
        )
        if by_source:
            kept = kept.filter(~pl.col("source").is_in(resolved.implode()))
        merged = pl.concat([kept, changed]).sort(key)
        replace_day(lake, table, day, merged, existing.sort(key), files, run_id, stale=stale)
        placement.record(day, pl.concat([existing.filter(touched), incoming]), merged)
        return same.height, changed.join(before, on=key, how="semi").height

    counts = side_by_side(commit_day, days)
    unchanged, updated = sum(c[0] for c in counts), sum(c[1] for c in counts)
    placement.apply(index)
    if alone:
        index.save()
    new = staged.height - updated - unchanged
    return CommitStats(
        new=new,
        updated=updated,
        unchanged=unchanged,
        duplicates=staged_all.height - staged.height,
        partitions=len(days),
    )


@task(
    name="commit-children",
    task_run_name="commit-{table}",
    retries=2,
    retry_delay_seconds=2,
    cache_policy=NO_CACHE,
)
def commit_children(
    lake: LakeLike,
    run_id: str,
    table: TableName,
    index: LakeIndex | None = None,
    staging: Staging | None = None,
) -> CommitStats:
    """Merge a child table (entities, quotes): each staged article's rows replace all the rows
    that article had, wherever its old partition was (the index names it). An article staged
    twice in one run keeps the rows of its last batch, like the article itself."""
    lake = as_lake(lake)
    alone = index is None
    index = index or LakeIndex(lake)
    files = (staging or Staging(lake, run_id)).files(table)
    if not files:
        return CommitStats()
    scanned = read_staged_batches(lake, files, table)
    last = scanned.group_by("article_id").agg(pl.col("_batch").max())
    staged = scanned.join(last, on=["article_id", "_batch"], how="semi").drop("_batch")
    ids = staged["article_id"].unique()
    held = index.days(table, ids)
    days = sorted(set(staged[PARTITION].to_list()) | held)
    order = ["article_id", KEYS[table]]
    placement = _Placement(table)

    def commit_day(day: date) -> None:
        incoming = staged.filter(pl.col(PARTITION) == day).drop(PARTITION)
        if day not in held:  # none of the day's articles had rows here: only added
            add_to_day(lake, table, day, incoming.sort(order), run_id)
            placement.add(day, incoming)
            return
        existing, files, stale = read_day(lake, table, day)
        kept = existing.filter(~pl.col("article_id").is_in(ids.implode()))
        merged = pl.concat([kept, incoming]).sort(order)
        replace_day(lake, table, day, merged, existing.sort(order), files, run_id, stale=stale)
        placement.record(day, staged.select("article_id"), merged)

    side_by_side(commit_day, days)
    placement.apply(index)
    if alone:
        index.save()
    return CommitStats(new=staged.height, partitions=len(days))


def known_sources(lake: LakeLike, sources: list[str]) -> set[str]:
    """The sources among these that the lake has already dealt with: each gave a capture or a
    reject (looked up in the index: a run reads the shards of its own sources only)."""
    index = LakeIndex(as_lake(lake))
    return index.present(("sourced", "rejects"), pl.Series("source", sources, dtype=pl.String))


def write_part(lake: LakeLike, table: str, day: date, name: str, frame: pl.DataFrame) -> None:
    """Write one file of an append-only table (the raw zone) atomically into its partition.

    The name is fixed by the caller (run and chunk), so writing the same chunk again replaces
    its file rather than adding a second copy.
    """
    lake = as_lake(lake)
    lake.write(frame, lake.path(table, f"{PARTITION}={day.isoformat()}", name))
