"""A day partition's files: added to by runs, merged when a run changes its rows, compacted later.

Layout: `LAKE/<table>/date=YYYY-MM-DD/part-<writer>.parquet`. A run whose rows are all new to a
day (the index names no old row of their keys there) writes them as one new file named after
the run, and reads nothing: rewriting a busy day whole cost a run into a 1,000,000-article lake
about as much as its own pages. A run that changes or removes rows of a day merges all the day's
files into one new file and then removes the files it replaced; `newslake compact` does the same
for every day that has gathered more than one file.

Each write is atomic and every writer's name sorts after the names it replaces (run ids and
compaction ids begin with their UTC start time; `part-0`, the one file of lakes from before
appends, sorts first). A writer killed between its write and its removals leaves a row twice;
`read_day` takes each key's rows from the newest file that holds it, so what it reads is what the
writer meant, and the next merge or compaction of the day removes the older copy.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import polars as pl

from newslake.tasks.crashpoints import crash_point
from newslake.tasks.lake.store import Lake, side_by_side
from newslake.tasks.lake.tables import CHILDREN, KEYS, PARTITION, SCHEMAS, TableName, conform

__all__ = [
    "add_to_day",
    "compact_lake",
    "day_files",
    "days_files",
    "group_key",
    "newest_rows",
    "read_day",
    "replace_day",
]


def group_key(table: TableName) -> str:
    """The column whose rows a newer file replaces together: a child table's rows belong to
    their article (a run replaces all of an article's entities at once), others to their key."""
    return "article_id" if table in CHILDREN else KEYS[table]


def _folder(lake: Lake, table: TableName, day: date) -> str:
    return lake.path(table, f"{PARTITION}={day.isoformat()}")


def _file(lake: Lake, table: TableName, day: date, writer: str) -> str:
    return f"{_folder(lake, table, day)}/part-{writer}.parquet"


def day_files(lake: Lake, table: TableName, day: date) -> list[str]:
    """The day's files of a table, oldest writer first (one listing)."""
    return lake.files(_folder(lake, table, day))


def days_files(lake: Lake, table: TableName, days: list[date]) -> list[list[str]]:
    """`day_files` of each of these days, in their order, the listings side by side (on an
    object store each is a round trip)."""
    return side_by_side(lambda day: day_files(lake, table, day), days)


def newest_rows(frames: list[pl.DataFrame], group: str) -> pl.DataFrame:
    """The rows of frames given oldest first, each group's rows taken from the newest frame that
    holds the group."""
    kept: list[pl.DataFrame] = []
    seen = frames[0][group].clear() if frames else pl.Series(group, [], dtype=pl.String)
    for frame in reversed(frames):
        kept.append(frame.filter(~pl.col(group).is_in(seen.implode())))
        seen = pl.concat([seen, frame[group].unique()])
    return pl.concat(list(reversed(kept)), how="vertical_relaxed") if kept else pl.DataFrame()


def read_day(
    lake: Lake, table: TableName, day: date, files: list[str] | None = None
) -> tuple[pl.DataFrame, list[str], bool]:
    """A day's rows of a table (each group from its newest file), the files read, and whether
    an older copy of some group was left out (a writer was killed before its removals).
    `files`: the day's files when the caller has just listed them (oldest writer first)."""
    files = day_files(lake, table, day) if files is None else files
    frames = [conform(frame, SCHEMAS[table]) for frame in lake.read_each(files).values()]
    if not frames:
        return SCHEMAS[table].to_frame(), files, False
    rows = newest_rows(frames, group_key(table))
    return rows, files, rows.height < sum(frame.height for frame in frames)


def add_to_day(lake: Lake, table: TableName, day: date, rows: pl.DataFrame, writer: str) -> None:
    """Add rows that are new to the day as the writer's own file; nothing of the day is read.
    Written again by the same writer (a retried commit), the file is replaced, not doubled."""
    if rows.height:
        lake.write(rows, _file(lake, table, day, writer))
        crash_point("partition-replaced")


def replace_day(
    lake: Lake,
    table: TableName,
    day: date,
    merged: pl.DataFrame,
    existing: pl.DataFrame,
    files: list[str],
    writer: str,
    *,
    stale: bool = False,
) -> None:
    """Put a day's merged rows in place of its files: nothing when they equal what is there (a
    re-run rewrites no file), removal when none are left, else the writer's file, written
    atomically, then the files it replaces removed."""
    if merged.height == 0:
        for path in files:
            lake.remove(path)
        return
    if merged.equals(existing) and not stale:
        return
    target = _file(lake, table, day, writer)
    lake.write(merged, target)
    crash_point("partition-replaced")
    for path in files:
        if path != target:
            lake.remove(path)


def compaction_id() -> str:
    """A writer name that sorts after every run before it (runs are named by their UTC start)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-compact"


def compact_lake(
    lake: Lake, tables: list[TableName], only: set[date] | None = None
) -> dict[str, int]:
    """Merge each day (of `only`, else of the lake) that holds more than one file of a table
    into one file; the number of days compacted per table. The caller holds the lake's lock (no
    run writes meanwhile); readers see every row throughout, at worst twice for the moment
    between the new file's write and the old files' removal."""
    writer = compaction_id()
    done: dict[str, int] = {}
    for table in tables:
        by_day: dict[date, list[str]] = defaultdict(list)
        if only is None:
            for path in lake.partition_files(table):
                by_day[lake.day_of(path)].append(path)
        else:  # a listing per day, not of the whole table: on an object store each is a request
            by_day.update((day, day_files(lake, table, day)) for day in sorted(only))
        days = {day: paths for day, paths in by_day.items() if len(paths) > 1}
        order = [group_key(table), KEYS[table]]
        for day, paths in days.items():
            rows, files, _ = read_day(lake, table, day, paths)
            replace_day(lake, table, day, rows.sort(order), rows, files, writer, stale=True)
        done[table] = len(days)
    return done
