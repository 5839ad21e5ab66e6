"""The one polars schema of each table, and the frames built from pipeline records.

Every writer and every test uses these schemas, so a column changes in one place. Each table is
partitioned by `date` (hive style, `date=YYYY-MM-DD`); the partition column lives in the
directory name, not in the files, so that DuckDB and polars both read it back as a DATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

import polars as pl

from newslake.tasks.ids import stable_id
from newslake.tasks.records import Article, Reject, valid_text

__all__ = [
    "ARTICLES",
    "CHILDREN",
    "ENTITIES",
    "QUOTES",
    "RAW",
    "KEYS",
    "PARTITION",
    "RENDERED",
    "REJECTS",
    "RUNS",
    "SCHEMAS",
    "CONTENT",
    "TableName",
    "CAPTURED_AT",
    "CAPTURES",
    "STORIES",
    "VERSIONS",
    "articles_frame",
    "conform",
    "captures_frame",
    "versions_frame",
    "child_frame",
    "rejects_frame",
]

TableName = Literal["articles", "rejects", "entities", "quotes", "captures", "versions", "stories"]
# The header a rendered capture carries in the raw zone (its headers are the plain fetch's, its
# body the HTML after the page's scripts ran): `newslake reprocess` reads it without a browser,
# and the `publishers` view counts rendered pages by it.
RENDERED = "x-newslake-rendered"
PARTITION = "date"
_TS = pl.Datetime("us", "UTC")

ARTICLES = pl.Schema(
    {
        "article_id": pl.String(),
        "url": pl.String(),
        "source": pl.String(),
        "domain": pl.String(),
        "title": pl.String(),
        # The title declared for search and sharing, when it differs from `title`.
        "seo_title": pl.String(),
        "authors": pl.List(pl.String()),
        "published_at": _TS,
        # Declared by the page (schema.org dateModified, article:modified_time).
        "modified_at": _TS,
        # The news agency the article credits (AP, Reuters, AFP, dpa …; tasks/text/wire.py).
        "wire": pl.String(),
        # The page's declared isAccessibleForFree (null when it declares nothing).
        "is_free": pl.Boolean(),
        # The page marks its article body (schema.org articleBody, itemprop=articleBody).
        "body_declared": pl.Boolean(),
        "language": pl.String(),
        "sitename": pl.String(),
        "description": pl.String(),
        "categories": pl.List(pl.String()),
        "tags": pl.List(pl.String()),
        "image": pl.String(),
        "text": pl.String(),
        "word_count": pl.Int32(),
        "content_hash": pl.String(),
        "fetched_at": _TS,
        "extracted_at": _TS,
        "run_id": pl.String(),
        "extractor": pl.String(),
        "extractor_version": pl.String(),
        # The capture (a row of `captures`) the article row was built from.
        "capture_id": pl.String(),
    }
)

# Every page read that yielded an article: a capture of it (tasks/lake/captures.py).
CAPTURES = pl.Schema(
    {
        "capture_id": pl.String(),
        "article_id": pl.String(),
        "source": pl.String(),
        "url": pl.String(),
        "captured_at": _TS,
        "content_hash": pl.String(),
        "word_count": pl.Int32(),
        "run_id": pl.String(),
        # What the capture says of its outlet's state (tasks/lake/publishers.py reads these, so
        # judging an outlet's days reads those days' captures, not every article partition).
        "domain": pl.String(),
        "with_title": pl.Boolean(),
        "with_authors": pl.Boolean(),
        "with_date": pl.Boolean(),
        "body_declared": pl.Boolean(),
        "not_free": pl.Boolean(),
        "with_wire": pl.Boolean(),
    }
)

# Near-duplicate articles share a story (tasks/lake/stories.py): one row per article, with the
# signature and LSH band keys a later article is compared with.
STORIES = pl.Schema(
    {
        "article_id": pl.String(),
        "story_id": pl.String(),
        "similarity": pl.Float64(),
        "first_article_id": pl.String(),
        "first_at": _TS,
        "published_at": _TS,
        "capture_id": pl.String(),
        "signature": pl.List(pl.UInt32()),  # datasketch hash values are under 2**32
        "bands": pl.List(pl.Int64()),
    }
)

# Every distinct text an article has had, once (by content hash): how a story changed.
VERSIONS = pl.Schema(
    {
        "version_id": pl.String(),
        "article_id": pl.String(),
        "content_hash": pl.String(),
        "title": pl.String(),
        "text": pl.String(),
        "word_count": pl.Int32(),
        "captured_at": _TS,
        "run_id": pl.String(),
    }
)

REJECTS = pl.Schema(
    {
        "reject_id": pl.String(),
        "source": pl.String(),
        "url": pl.String(),
        "stage": pl.String(),
        "error": pl.String(),
        "reason": pl.String(),
        "fetched_at": _TS,
        "rejected_at": _TS,
        "run_id": pl.String(),
    }
)

ENTITIES = pl.Schema(
    {
        "article_id": pl.String(),
        "entity_id": pl.String(),
        "name": pl.String(),
        "label": pl.String(),
        "mentions": pl.Int32(),
        "first_char": pl.Int32(),
        "aliases": pl.List(pl.String()),
        "spans": pl.List(pl.Struct({"start": pl.Int32(), "end": pl.Int32()})),
        "salience": pl.Float64(),
    }
)

QUOTES = pl.Schema(
    {
        "quote_id": pl.String(),
        "article_id": pl.String(),
        # Rows of one quotation split by its attribution or over paragraphs share a group.
        "group_id": pl.String(),
        "quote": pl.String(),
        "speaker": pl.String(),
        "speaker_name": pl.String(),
        "speaker_entity_id": pl.String(),
        "cue": pl.String(),
        "kind": pl.String(),
        "start_char": pl.Int32(),
        "end_char": pl.Int32(),
        "paragraph": pl.Int32(),
        "confidence": pl.Float64(),
    }
)

# The raw zone (tasks/web/raw.py): one row per fetch, append-only, not a TableName of the commit.
RAW = pl.Schema(
    {
        "url": pl.String(),
        "final_url": pl.String(),
        "status": pl.Int32(),
        "headers": pl.String(),
        "redirects": pl.List(pl.String()),
        "body": pl.Binary(),
        "error": pl.String(),
        "transient": pl.Boolean(),
        "fetched_at": _TS,
        "run_id": pl.String(),
    }
)

# The run log (tasks/lake/runlog.py): one row per flow run, append-only, read by `newslake runs`.
RUNS = pl.Schema(
    {
        "run_id": pl.String(),
        "flow": pl.String(),
        "state": pl.String(),
        "started_at": _TS,
        "seconds": pl.Float64(),
        "pages": pl.Int64(),
        "articles": pl.Int64(),
        "rejects": pl.Int64(),
        "duplicates": pl.Int64(),
        # Pages that yielded an article (several captures may make one article).
        "captures": pl.Int64(),
        "entities": pl.Int64(),
        "quotes": pl.Int64(),
        "partitions": pl.Int64(),
        "rejects_by_stage": pl.String(),
        "message": pl.String(),
        # Outlets whose health status the run changed (JSON list; tasks/lake/health.py).
        "outlets_changed": pl.String(),
    }
)

# Tables whose rows belong to an article: re-ingesting an article replaces all of its rows.
CHILDREN: tuple[TableName, ...] = ("entities", "quotes")
SCHEMAS: dict[TableName, pl.Schema] = {
    "articles": ARTICLES,
    "rejects": REJECTS,
    "entities": ENTITIES,
    "quotes": QUOTES,
    "captures": CAPTURES,
    "versions": VERSIONS,
    "stories": STORIES,
}
# The column that identifies a row across runs: a re-ingested page replaces the row it matches.
KEYS: dict[TableName, str] = {
    "articles": "article_id",
    "rejects": "reject_id",
    "entities": "entity_id",  # within its article
    "quotes": "quote_id",
    "captures": "capture_id",
    "versions": "version_id",
    "stories": "article_id",
}
# Columns that say whether a re-ingested row changed; an unchanged row keeps its old run_id.
CONTENT: dict[TableName, tuple[str, ...]] = {
    # A new extractor version replaces the row even when the text came out the same, so each
    # row's extractor_version says which code produced it.
    "articles": ("content_hash", "extractor_version"),
    "rejects": ("reason",),
    "captures": ("content_hash",),
    # A version is a text, kept once: seen again, it keeps the run that first saw it.
    "versions": ("content_hash",),
    "stories": ("story_id", "similarity", "first_article_id"),
}


# When a capture was made: its fetch, else (a file's page with no fetch time) its extraction.
CAPTURED_AT = pl.coalesce("fetched_at", "extracted_at").alias("captured_at")


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """A frame in a table's current schema: a column an older newslake did not write (a lake
    made before it existed) is added empty, so old partitions merge with new rows."""
    missing = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in schema.items()
               if name not in frame.columns]  # fmt: skip
    return frame.with_columns(missing).select(schema.names()).cast(schema)


def _with_partition(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Add the `date` partition: the first of `columns` that is set, as a UTC calendar day."""
    return frame.with_columns(pl.coalesce([pl.col(c) for c in columns]).dt.date().alias(PARTITION))


def articles_frame(articles: Sequence[Article]) -> pl.DataFrame:
    """The `articles` rows for these records, partitioned by publication day, else fetch day.

    Each row names its capture: the article, the input it came from and the capture time, so
    re-reading the same capture gives the same id and a new fetch a new one.
    """
    rows = [
        asdict(a)
        | {"capture_id": stable_id(a.article_id, a.source, (a.fetched_at or a.extracted_at))}
        for a in articles
    ]
    frame = pl.DataFrame(rows, schema=ARTICLES, orient="row") if rows else ARTICLES.to_frame()
    return _with_partition(frame, "published_at", "fetched_at", "extracted_at")


def captures_frame(articles: pl.DataFrame) -> pl.DataFrame:
    """The `captures` rows of a batch's article rows, partitioned by capture day."""
    frame = articles.select(
        "capture_id",
        "article_id",
        "source",
        "url",
        CAPTURED_AT,
        "content_hash",
        "word_count",
        "run_id",
        "domain",
        (pl.col("title").fill_null("") != "").alias("with_title"),
        (pl.col("authors").list.len().fill_null(0) > 0).alias("with_authors"),
        pl.col("published_at").is_not_null().alias("with_date"),
        pl.col("body_declared").fill_null(False),
        (pl.col("is_free").fill_null(True).not_()).alias("not_free"),
        pl.col("wire").is_not_null().alias("with_wire"),
    )
    return _with_partition(frame, "captured_at")


def versions_frame(articles: pl.DataFrame) -> pl.DataFrame:
    """The `versions` rows of a batch's article rows, in the partition of their capture day."""
    version = pl.struct("article_id", "content_hash").map_elements(
        lambda row: stable_id(row["article_id"], row["content_hash"]), return_dtype=pl.String
    )
    frame = articles.select(
        version.alias("version_id"),
        "article_id",
        "content_hash",
        "title",
        "text",
        "word_count",
        CAPTURED_AT,
        "run_id",
    ).unique("version_id", keep="first", maintain_order=True)
    return _with_partition(frame, "captured_at")


def child_frame(
    table: TableName, rows: Sequence[dict[str, object]], articles: pl.DataFrame
) -> pl.DataFrame:
    """Rows of a child table (entities, quotes), in the partition of their article."""
    schema = SCHEMAS[table]
    frame = pl.DataFrame(list(rows), schema=schema, orient="row") if rows else schema.to_frame()
    return frame.join(articles.select("article_id", PARTITION), on="article_id", how="inner")


def _reject_id(reject: Reject) -> str:
    """Stable across runs: the same bad page in the same input gives the same id."""
    return stable_id(reject.source, reject.url or "", reject.stage)


def rejects_frame(rejects: Sequence[Reject], *, run_id: str) -> pl.DataFrame:
    """The `rejects` rows for these records, partitioned by fetch day, else the day of the run."""
    now = datetime.now(UTC)
    rows = [
        {
            "reject_id": _reject_id(r),
            # A reject is the last word on a page: no odd character may stop it being written.
            "source": valid_text(r.source),
            "url": valid_text(r.url) if r.url else r.url,
            "stage": r.stage,
            "error": r.error,
            "reason": valid_text(r.reason),
            "fetched_at": r.fetched_at,
            "rejected_at": now,
            "run_id": run_id,
        }
        for r in rejects
    ]
    frame = pl.DataFrame(rows, schema=REJECTS, orient="row") if rows else REJECTS.to_frame()
    return _with_partition(frame, "fetched_at", "rejected_at")
