"""The records that cross task boundaries: a page as read, and why a page produced no article.

They are frozen and keyword-only so that a batch can be pickled to a worker process and back
without anyone mutating a page half-way through the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from newslake.tasks.errors import PageError, Stage

__all__ = ["PreExtracted", "RawPage", "Reject", "valid_text"]


def valid_text(value: str) -> str:
    """`value` with each lone surrogate as U+FFFD: a file name undecodable in the file system's
    encoding or a JSON "\\ud800" carries them, and no Parquet string can hold one."""
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@dataclass(frozen=True, kw_only=True)
class PreExtracted:
    """An article that arrived already extracted (a news API dump): its text is kept as given."""

    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: str | None = None
    language: str | None = None


@dataclass(frozen=True, kw_only=True)
class RawPage:
    """One page as read from its container, before decoding.

    `source` names where it came from (file path, `dump.jsonl:12`, `crawl.warc.gz#3`), so that a
    reject can always be traced back to its input.
    """

    source: str
    url: str | None
    body: bytes = b""
    fetched_at: datetime | None = None
    charset: str | None = None  # from HTTP/WARC Content-Type, if the container said
    status: int | None = None
    pre_extracted: PreExtracted | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Reject:
    """A page that produced no article, with the stage that gave up and a sentence saying why."""

    source: str
    url: str | None
    stage: Stage
    error: str
    reason: str
    fetched_at: datetime | None = None

    @classmethod
    def from_error(
        cls, exc: PageError, *, source: str, url: str | None, fetched_at: datetime | None = None
    ) -> Reject:
        """Build the reject row for a page that raised `exc`."""
        return cls(
            source=source,
            url=url,
            stage=exc.stage,
            error=type(exc).__name__,
            reason=exc.reason,
            fetched_at=fetched_at,
        )


@dataclass(frozen=True, kw_only=True)
class Article:
    """One clean article: a row of the `articles` table (schema in `tasks/lake/tables.py`)."""

    article_id: str
    url: str | None
    source: str
    domain: str | None
    title: str | None
    seo_title: str | None = None
    authors: tuple[str, ...]
    published_at: datetime | None
    modified_at: datetime | None = None
    wire: str | None = None
    is_free: bool | None = None
    # The page marks its article body (schema.org articleBody, itemprop): a layout that drops
    # the mark is one a publisher changed (tasks/lake/health.py).
    body_declared: bool | None = None
    language: str | None
    sitename: str | None
    description: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    image: str | None
    text: str
    word_count: int
    content_hash: str
    fetched_at: datetime | None
    extracted_at: datetime
    run_id: str
    extractor: str
    extractor_version: str
