"""The raw zone: every fetch result, kept before extraction, so nothing fetched is ever lost.

`LAKE/raw/date=YYYY-MM-DD/part-<run>-<chunk>.parquet` holds one row per fetch: the requested
and final URL, status, headers, redirects, the body (zstd-compressed by Parquet) and the error
if any. Unlike the derived tables it is an append-only log, written a chunk at a time as fetching
goes on: each file is written once, atomically, under a name fixed by run and chunk. The lake's
fetch state is read from it: what was fetched, with which ETag and Last-Modified, and which
fetched pages still wait for extraction (a run killed between fetching and committing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from email.message import Message
from typing import TypedDict, cast

import polars as pl

from newslake.tasks.errors import FetchError
from newslake.tasks.lake.commit import write_part
from newslake.tasks.lake.store import LakeLike, as_lake
from newslake.tasks.lake.tables import PARTITION, RAW, RENDERED
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.web.fetch import FetchResult

__all__ = [
    "RENDERED",
    "fetch_state",
    "item_from_raw",
    "page_from_raw",
    "raw_files",
    "raw_frame",
    "raw_index",
    "raw_items",
    "stage_raw",
]


class RawRow(TypedDict):
    """One row of the raw zone (the `RAW` schema), as polars yields it."""

    url: str
    final_url: str | None
    status: int | None
    headers: str | None
    redirects: list[str]
    body: bytes | None
    error: str | None
    transient: bool | None
    fetched_at: datetime | None
    run_id: str


def raw_frame(results: Iterable[FetchResult], *, run_id: str) -> pl.DataFrame:
    """The raw rows of some fetch results, partitioned by fetch day."""
    rows = [
        {
            "url": r.url,
            "final_url": r.final_url,
            "status": r.status,
            "headers": json.dumps(r.headers),
            "redirects": list(r.redirects),
            "body": r.body,
            "error": r.error,
            "transient": r.transient,
            "fetched_at": r.fetched_at,
            "run_id": run_id,
        }
        for r in results
    ]
    frame = pl.DataFrame(rows, schema=RAW, orient="row") if rows else RAW.to_frame()
    return frame.with_columns(pl.col("fetched_at").dt.date().alias(PARTITION))


def stage_raw(
    lake: LakeLike, run_id: str, chunk: int, results: list[FetchResult], *, rendered: bool = False
) -> list[RawPage | Reject]:
    """Append a chunk of fetch results to the raw zone, one atomic file per fetch day, and give
    back each result as the page (or fetch reject) the raw zone now holds: the rows written are
    the rows extracted, built once. A chunk's rendered captures go in a file of their own."""
    frame = raw_frame(results, run_id=run_id)
    name = f"part-{run_id}-{chunk:05d}{'-rendered' if rendered else ''}.parquet"
    for (day,), part in frame.partition_by(PARTITION, as_dict=True).items():
        write_part(lake, "raw", day, name, part.drop(PARTITION))
    return [item_from_raw(cast(RawRow, row)) for row in frame.iter_rows(named=True)]


def fetch_state(lake: LakeLike) -> pl.DataFrame:
    """The latest fetch of every URL in the raw zone: url, status, error, transient, ETag and
    Last-Modified of its last successful fetch."""
    lake = as_lake(lake)
    files = lake.partition_files("raw")
    if not files:
        return pl.DataFrame(
            schema={
                "url": pl.String(),
                "status": pl.Int32(),
                "transient": pl.Boolean(),
                "etag": pl.String(),
                "last_modified": pl.String(),
            }
        )
    latest = (
        lake.read(files, ["url", "status", "transient", "headers", "fetched_at"])
        .sort("fetched_at")
        .group_by("url")
        .last()
    )
    validators = latest.with_columns(
        pl.col("headers").str.json_path_match("$.etag").alias("etag"),
        pl.col("headers").str.json_path_match("$.last-modified").alias("last_modified"),
    )
    return validators.select("url", "status", "transient", "etag", "last_modified")


def raw_index(lake: LakeLike) -> pl.DataFrame:
    """Which raw-zone file holds each fetched URL (`url`, `file`): read once, so a run that
    looks up many groups of URLs (a backfill's days) reads the URL columns once, not per group."""
    lake = as_lake(lake)
    files = lake.partition_files("raw")
    read = lake.read_each(files, ["url"])
    frames = [frame.with_columns(file=pl.lit(path)) for path, frame in read.items()]
    return (
        pl.concat(frames) if frames else pl.DataFrame(schema={"url": pl.String, "file": pl.String})
    )


def raw_files(index: pl.DataFrame, urls: Iterable[str]) -> list[str]:
    """The raw-zone files that hold any of `urls`, from `raw_index`."""
    wanted = pl.Series(list(urls), dtype=pl.String)
    return index.filter(pl.col("url").is_in(wanted.implode()))["file"].unique().sort().to_list()


def raw_items(
    lake: LakeLike, urls: Iterable[str], files: list[str] | None = None
) -> list[RawPage | Reject]:
    """The latest fetch of each URL from the raw zone: its page to extract again (no network
    needed), or the reject its failed fetch earned. Only the files that hold a wanted URL
    (`files`, else looked up in the raw index) are read whole, so bodies of the rest of the raw
    zone stay on disk."""
    lake = as_lake(lake)
    wanted = pl.Series(list(urls), dtype=pl.String).unique()
    if wanted.is_empty():
        return []
    holding = files if files is not None else raw_files(raw_index(lake), wanted)
    if not holding:
        return []
    rows = (
        lake.read(holding)
        .filter(pl.col("url").is_in(wanted.implode()))
        .sort("fetched_at")
        .group_by("url", maintain_order=True)
        .last()
    )
    return [item_from_raw(cast(RawRow, row)) for row in rows.iter_rows(named=True)]


def item_from_raw(row: RawRow) -> RawPage | Reject:
    """A raw-zone row as the page the extractor reads, or as the reject of a failed fetch."""
    url = row["url"]
    if row["body"] is None:
        failed = FetchError(row["error"] or f"HTTP {row['status']}", url=url)
        return Reject.from_error(failed, source=url, url=url, fetched_at=row["fetched_at"])
    return page_from_raw(row)


def _charset(headers: dict[str, str]) -> str | None:
    message = Message()
    message["content-type"] = headers.get("content-type", "")
    charset = message.get_param("charset")
    return charset if isinstance(charset, str) else None


def page_from_raw(row: RawRow) -> RawPage:
    """A raw-zone row (or a fresh fetch) as the page the extractor reads."""
    headers = json.loads(row["headers"]) if row["headers"] else {}
    return RawPage(
        source=row["url"],
        url=row["final_url"] or row["url"],
        body=row["body"] or b"",
        fetched_at=row["fetched_at"],
        charset=_charset(headers),
        status=row["status"],
        headers=headers,
    )
