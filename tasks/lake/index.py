"""The lake's index: where each article's rows live, so a commit reads only what it touches.

A commit must find the partitions that hold the old rows of what it stages (an article whose date
changed, a reject that is an article now, the members of a story that merges). Reading the key
columns of every partition to find them costs a run the whole lake; the index answers it from
the few shards its keys fall in.

Each index row says "table T has a row of this key on this day": `kind` (which lookup), `key`
(an article id, a story id or a source), `id` (the row's own id where a key has several rows —
a capture, a version, a reject, a story's member), `date` (the partition) and `words` (a
capture's length, which decides whether a new capture may replace the article row). The rows
are sharded by the first digits of the key's sha256, one Parquet file a shard, under
`LAKE/_index/` — outside every table folder, so DuckDB and polars read the tables as before.

Consistency: a commit updates the shards of its keys after its partitions are in place, with the
rows read back from those partitions, so the index stays exact. A run killed before it saved the
index leaves its staging behind; the next run folds that staging into the index (adding the days
the killed commit may have written) before removing it, so the index is never missing a row —
at worst it names a day that no longer holds one, which costs a read, not a wrong answer. A lake
written before the index existed (no `_index/manifest.parquet`) is indexed from its tables on
its first run; `newslake reindex` does the same on demand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from newslake.tasks.ids import digest
from newslake.tasks.lake.store import Lake, side_by_side
from newslake.tasks.lake.tables import PARTITION, TableName

__all__ = [
    "INDEX",
    "KINDS",
    "LakeIndex",
    "fold_staging",
    "index_columns",
    "index_is_built",
    "index_mismatch",
    "index_rows",
    "read_index",
    "rebuild_index",
    "save_index",
]

_ROOT = "_index"
_MANIFEST = "manifest.parquet"
# 16**3 = 4,096 shards: 20 new articles touch about 20 of them; at 10M articles a shard holds
# about 20,000 rows (well under a MiB), so a run reads and writes little whatever the lake's size.
SHARD_DIGITS = 3
FORMAT = 1

INDEX = pl.Schema(
    {
        "kind": pl.String(),
        "key": pl.String(),
        "id": pl.String(),
        PARTITION: pl.Date(),
        "words": pl.Int32(),
    }
)


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One lookup the commit makes: a table's rows by `key` (and `id`, where a key has several)."""

    name: str
    key: str
    id: str | None = None
    words: str | None = None
    # A source is any text (a path, a URL): it is indexed by its digest, so every key names
    # its shard by its first digits.
    hashed: bool = False


# The lookups of each table. The first is how the commit finds a staged row's old partitions.
KINDS: dict[TableName, tuple[Kind, ...]] = {
    "articles": (Kind(name="articles", key="article_id"),),
    "rejects": (Kind(name="rejects", key="source", id="reject_id", hashed=True),),
    "captures": (
        Kind(name="captures", key="article_id", id="capture_id", words="word_count"),
        # Sources a page of the lake came from: the web skips what it has already dealt with.
        Kind(name="sourced", key="source", id="capture_id", hashed=True),
    ),
    "versions": (Kind(name="versions", key="article_id", id="version_id"),),
    "stories": (
        Kind(name="stories", key="article_id"),
        Kind(name="story", key="story_id", id="article_id"),
    ),
    "entities": (Kind(name="entities", key="article_id"),),
    "quotes": (Kind(name="quotes", key="article_id"),),
}


_BY_NAME = {kind.name: kind for kinds in KINDS.values() for kind in kinds}


def _keys(kind: str, values: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
    """The index keys of these lookup values (a source's digest; an id as it is)."""
    if not _BY_NAME[kind].hashed:
        return values
    return values.map_elements(digest, return_dtype=pl.String)


def _key(kind: str, value: str) -> str:
    """The index key of one lookup value."""
    return digest(value) if _BY_NAME[kind].hashed else value


def _shard(key: str) -> str:
    return key[:SHARD_DIGITS]


def _shard_path(lake: Lake, shard: str) -> str:
    return lake.path(_ROOT, f"{shard}.parquet")


_ORDER = ["key", "kind", PARTITION, "id", "words"]
_SHARD = pl.col("key").str.slice(0, SHARD_DIGITS).alias("_shard")


def index_columns(table: TableName) -> list[str]:
    """The columns of a table that its index rows are made of (besides the partition)."""
    return sorted({c for k in KINDS[table] for c in (k.key, k.id, k.words) if c})


def index_rows(table: TableName, frame: pl.DataFrame) -> pl.DataFrame:
    """The index rows that a table's rows (with their `date` partition column) give."""
    parts = []
    for kind in KINDS[table]:
        parts.append(
            frame.select(
                pl.lit(kind.name).alias("kind"),
                _keys(kind.name, pl.col(kind.key)).alias("key"),
                (pl.col(kind.id) if kind.id else pl.lit(None, pl.String)).alias("id"),
                pl.col(PARTITION),
                (pl.col(kind.words) if kind.words else pl.lit(None, pl.Int32)).alias("words"),
            )
            .cast(INDEX)
            .filter(pl.col("key").is_not_null())
        )
    return pl.concat(parts).unique(maintain_order=True) if parts else INDEX.to_frame()


class LakeIndex:
    """The index as one run sees it: shards read when a key first needs them, changed in
    memory, written back by `save` (only the shards that changed)."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._read: dict[str, pl.DataFrame] = {}  # each loaded shard as it was read
        self._rows = INDEX.to_frame()  # the loaded shards' rows as the run has changed them
        self._touched: set[str] = set()
        # Changes are collected and applied together (a few vectorised passes over all the
        # loaded rows, not one pass a shard a change): (kind, keys, days) to drop, rows to add.
        self._pending: list[tuple[str, pl.Series, pl.Series, pl.DataFrame]] = []

    def _load(self, keys: Iterable[str]) -> None:
        shards = sorted({_shard(k) for k in keys} - set(self._read))
        read = self.lake.read_each([_shard_path(self.lake, s) for s in shards], missing_ok=True)
        frames = []
        for shard in shards:
            frame = read.get(_shard_path(self.lake, shard))
            self._read[shard] = INDEX.to_frame() if frame is None else frame.cast(INDEX)
            frames.append(self._read[shard])
        if frames:
            self._rows = pl.concat([self._rows, *frames])

    def _apply(self) -> None:
        for kind, keys, days, fresh in self._pending:
            dropped = (
                (pl.col("kind") == kind)
                & pl.col("key").is_in(keys.implode())
                & pl.col(PARTITION).is_in(days.implode())
            )
            self._rows = pl.concat([self._rows.filter(~dropped), fresh])
        if self._pending:
            self._rows = self._rows.unique()
        self._pending.clear()

    def rows(self, kind: str, values: pl.Series, ids: pl.Series | None = None) -> pl.DataFrame:
        """The index rows of `kind` for these lookup values (and, when given, these ids)."""
        keys = _keys(kind, values.drop_nulls().unique())
        assert isinstance(keys, pl.Series)
        if keys.is_empty():
            return INDEX.to_frame()
        self._load(keys.to_list())
        self._apply()
        hit = (pl.col("kind") == kind) & pl.col("key").is_in(keys.implode())
        if ids is not None:
            hit = hit & pl.col("id").is_in(ids.drop_nulls().implode())
        return self._rows.filter(hit)

    def present(self, kinds: Iterable[str], values: pl.Series) -> set[str]:
        """The lookup values that have a row of one of these kinds."""
        found: set[str] = set()
        for kind in kinds:
            keys = set(self.rows(kind, values)["key"].to_list())
            found |= {v for v in values.to_list() if _key(kind, v) in keys}
        return found

    def days(self, kind: str, values: pl.Series, ids: pl.Series | None = None) -> set[date]:
        """The partitions that hold a row of `kind` for these lookup values (and ids)."""
        return set(self.rows(kind, values, ids)[PARTITION].to_list())

    def replace(self, kind: str, values: pl.Series, days: set[date], rows: pl.DataFrame) -> None:
        """Make the index say, for these lookup values of `kind` on these days, exactly what
        `rows` say (the index rows of the partitions just written); their other days stay."""
        keys = _keys(kind, values.drop_nulls().unique())
        assert isinstance(keys, pl.Series)
        if keys.is_empty():
            return
        fresh = rows.filter((pl.col("kind") == kind) & pl.col("key").is_in(keys.implode()))
        self._change(kind, keys, pl.Series(sorted(days), dtype=pl.Date), fresh)

    def add(self, rows: pl.DataFrame) -> None:
        """Add rows (days a key may be on): the index may name too many days, never too few."""
        self._change("", rows["key"].clear(), pl.Series([], dtype=pl.Date), rows)

    def _change(self, kind: str, keys: pl.Series, days: pl.Series, fresh: pl.DataFrame) -> None:
        touched = [*keys.to_list(), *fresh["key"].to_list()]
        self._load(touched)
        self._touched |= {_shard(k) for k in touched}
        self._pending.append((kind, keys, days, fresh.select(INDEX.names()).cast(INDEX)))

    def save(self) -> None:
        """Write the shards that changed, each atomically (an empty shard is removed)."""
        self._apply()
        shards = (
            self._rows.with_columns(_SHARD)
            .filter(pl.col("_shard").is_in(pl.Series(sorted(self._touched)).implode()))
            .sort(["_shard", *_ORDER], nulls_last=True)
            .partition_by("_shard", as_dict=True, include_key=False, maintain_order=True)
        )
        changed = {}
        for shard in sorted(self._touched):
            frame = shards.get((shard,), INDEX.to_frame())
            if not frame.equals(self._read[shard]):
                changed[shard] = frame
        # Side by side: a run touches two shards a new article, and one at a time each waited
        # for its encoding, its fsync or (on an object store) its PUT.
        side_by_side(lambda shard: self._write_shard(shard, changed[shard]), changed)
        self._read.update(changed)
        self._touched.clear()

    def _write_shard(self, shard: str, frame: pl.DataFrame) -> None:
        """Write one shard atomically; an empty one is removed."""
        path = _shard_path(self.lake, shard)
        if frame.is_empty():
            self.lake.remove(path)
        else:
            self.lake.write(frame, path)


@task(name="save-index", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def save_index(index: LakeIndex) -> None:
    """Write the run's changed index shards (retried: writing a shard again is harmless)."""
    index.save()


def index_is_built(lake: Lake) -> bool:
    """Whether the lake has an index (a lake written before newslake kept one has none)."""
    return lake.exists(lake.path(_ROOT, _MANIFEST))


def _from_tables(lake: Lake) -> pl.DataFrame:
    """The index the tables call for: every table's key columns, one partition at a time."""
    parts = []
    for table in KINDS:
        for path in lake.partition_files(table):
            parts.append(index_rows(table, lake.read([path], index_columns(table), hive=True)))
    return pl.concat(parts).unique() if parts else INDEX.to_frame()


def read_index(lake: Lake) -> pl.DataFrame:
    """Every row of the lake's index (all shards: for checks, not for runs)."""
    files = [f for f in lake.files(lake.path(_ROOT)) if not f.endswith(_MANIFEST)]
    frames = [frame.cast(INDEX) for frame in lake.read_each(files).values()]
    return pl.concat(frames) if frames else INDEX.to_frame()


def index_mismatch(lake: Lake) -> tuple[int, int]:
    """How far the index is from the tables: rows it lacks (a defect: a commit would miss old
    rows) and rows naming a day that holds no such row (harmless: a read too many)."""
    truth, index = _from_tables(lake), read_index(lake).unique()
    missing = truth.join(index, on=list(INDEX), how="anti", nulls_equal=True).height
    extra = index.join(truth, on=list(INDEX), how="anti", nulls_equal=True).height
    return missing, extra


def rebuild_index(lake: Lake) -> int:
    """Index the lake from its tables, replacing whatever index it had; the number of rows.

    Shards are written first and the manifest last, so a rebuild cut off half-way is not
    taken for an index: the next run rebuilds again. Run under the lake's lock.
    """
    rows = _from_tables(lake)
    shards = (
        rows.with_columns(_SHARD)
        .sort(_ORDER, nulls_last=True)
        .partition_by("_shard", as_dict=True, include_key=False)
        if rows.height
        else {}
    )
    kept = {_shard_path(lake, shard) for (shard,) in shards}
    for (shard,), frame in sorted(shards.items()):
        lake.write(frame, _shard_path(lake, shard))
    for stale in set(lake.files(lake.path(_ROOT))) - kept - {lake.path(_ROOT, _MANIFEST)}:
        lake.remove(stale)
    manifest = pl.DataFrame(
        {"format": [FORMAT], "shard_digits": [SHARD_DIGITS], "rows": [rows.height],
         "built_at": [datetime.now(UTC)]}
    )  # fmt: skip
    lake.write(manifest, lake.path(_ROOT, _MANIFEST))
    return rows.height


def fold_staging(lake: Lake, runs: list[dict[str, list[str]]]) -> set[date]:
    """Add to the index the days killed runs' staged rows (each run's files by table) may have
    been committed to, so no row they wrote is missing from the index (the rows they removed
    leave harmless extra days). Returns those days."""
    index = LakeIndex(lake)
    days: set[date] = set()
    for staged in runs:
        for table in KINDS:
            if staged.get(table):
                rows = index_rows(table, lake.read(staged[table], hive=False))
                index.add(rows)
                days.update(rows.get_column(PARTITION).unique().to_list())
    index.save()
    return days
