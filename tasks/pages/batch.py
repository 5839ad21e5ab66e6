"""One batch of raw pages through decode and extract, staged for the run's commit.

A batch is the unit of work a Prefect task run handles: per-task overhead (2-4 ms and a few
database rows) is paid once per ~64 pages, not once per page. The worker stages its own rows so
that article texts never travel back to the flow's process; only counts do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from newslake.tasks.crashpoints import crash_point
from newslake.tasks.errors import PageError
from newslake.tasks.lake.staging import stage_frame
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.stories import signature_rows
from newslake.tasks.lake.tables import (
    PARTITION,
    articles_frame,
    captures_frame,
    child_frame,
    rejects_frame,
    versions_frame,
)
from newslake.tasks.records import Article, RawPage, Reject
from newslake.tasks.settings import RunOptions, Settings
from newslake.tasks.text.decode import decode_html
from newslake.tasks.text.entities import Entity, entities_of, find_entities
from newslake.tasks.text.extract import article_from_html, article_from_text
from newslake.tasks.text.models import load_pipeline
from newslake.tasks.text.quotes import quote_rows
from newslake.tasks.web.urls import domain_of

__all__ = ["BatchResult", "batches", "process_batch", "process_in_turn", "process_page"]

_UNEXPECTED = "unexpected error while processing the page"

# Pages without a URL (files with no canonical link) are counted under this name per domain.
NO_DOMAIN = "(none)"


@dataclass(kw_only=True)
class BatchResult:
    """What one batch produced, for the run's summary."""

    pages: int = 0
    articles: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    words: int = 0
    entities: int = 0
    quotes: int = 0
    no_model: Counter[str] = field(default_factory=Counter)
    # (domain, measure) -> count, measure in pages/articles/rejects/entities/quotes: run reports.
    by_domain: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The capture days of its captures and rejects: the days whose outlet health it changed.
    days: set[date] = field(default_factory=set)

    def add(self, other: BatchResult) -> None:
        """Fold another batch's counts into this one."""
        self.pages += other.pages
        self.articles += other.articles
        self.rejects.update(other.rejects)
        self.domains.update(other.domains)
        self.words += other.words
        self.entities += other.entities
        self.quotes += other.quotes
        self.no_model.update(other.no_model)
        self.by_domain.update(other.by_domain)
        self.days |= other.days


def batches(
    items: Iterable[RawPage | Reject], run: RunOptions
) -> Iterator[tuple[list[RawPage], list[Reject]]]:
    """Cut a stream of pages into batches bounded both in pages and in bytes."""
    pages: list[RawPage] = []
    rejects: list[Reject] = []
    size = 0
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            pages.append(item)
            size += len(item.body) + len(item.pre_extracted.text if item.pre_extracted else "")
        if len(pages) + len(rejects) >= run.batch_pages or size >= run.batch_bytes:
            yield pages, rejects
            pages, rejects, size = [], [], 0
    if pages or rejects:
        yield pages, rejects


def process_page(page: RawPage, settings: Settings, run_id: str) -> Article | Reject:
    """Decode and extract one page; every page-level failure becomes a Reject, never an error."""
    try:
        if page.pre_extracted is not None:
            return article_from_text(
                page, page.pre_extracted, options=settings.extract, run_id=run_id
            )
        html = decode_html(page.body, page.charset)
        return article_from_html(
            page,
            html,
            options=settings.extract,
            timeout_s=settings.limits.extract_timeout_s,
            run_id=run_id,
        )
    except PageError as exc:
        return Reject.from_error(exc, source=page.source, url=page.url, fetched_at=page.fetched_at)
    except Exception as exc:  # a bug on one page must not cost the run
        reason = f"{_UNEXPECTED}: {exc!r}"
        return Reject(
            source=page.source,
            url=page.url,
            stage="extract",
            error=type(exc).__name__,
            reason=reason,
            fetched_at=page.fetched_at,
        )


# No cache key: hashing a batch's page bytes would cost time and memory for nothing, since a
# re-run is made idempotent by the lake's commit, not by Prefect's cache.
@task(
    name="process-batch", task_run_name="batch-{batch}", cache_policy=NO_CACHE, persist_result=False
)
def process_batch(
    pages: list[RawPage], rejects: list[Reject], *, settings: Settings, run_id: str, batch: int
) -> BatchResult:
    """Decode and extract a batch, then stage its articles and rejects (with the load rejects).

    Args:
        pages: raw pages read by the flow.
        rejects: pages the flow's loader already rejected, staged with this batch.
        settings: the run's settings.
        run_id: the run these rows belong to.
        batch: the batch's number within the run, which names its staged files.
    """
    result = BatchResult(pages=len(pages) + len(rejects))
    articles: list[Article] = []
    failed = list(rejects)
    for page in pages:
        outcome = process_page(page, settings, run_id)
        if isinstance(outcome, Article):
            articles.append(outcome)
        else:
            failed.append(outcome)
    articles, frame = _writable(articles, failed)
    for article in articles:
        result.domains[article.domain or NO_DOMAIN] += 1
        result.words += article.word_count
    result.articles = len(articles)
    result.rejects.update(r.stage for r in failed)
    for reject in failed:
        # A bug, not a bad page: say which page and step, so it can be reproduced.
        if reject.reason.startswith(_UNEXPECTED):
            get_run_logger().warning(
                "page %s failed at %s: %s", reject.source, reject.stage, reject.reason
            )
    outcomes = [(a.url, "articles") for a in articles] + [(r.url, "rejects") for r in failed]
    for url, measure in outcomes:
        domain = domain_of(url) or NO_DOMAIN
        result.by_domain[(domain, "pages")] += 1
        result.by_domain[(domain, measure)] += 1
    lake = Lake.of(settings.lake)
    entity_rows, quotes = _children(articles, settings, result)
    stage_frame(lake, run_id, "articles", batch, frame)
    captures = captures_frame(frame)
    rejected = rejects_frame(failed, run_id=run_id)
    result.days.update([*captures[PARTITION].to_list(), *rejected[PARTITION].to_list()])
    stage_frame(lake, run_id, "captures", batch, captures)
    stage_frame(lake, run_id, "versions", batch, versions_frame(frame))
    if settings.stories.enabled:
        stage_frame(lake, run_id, "stories", batch, signature_rows(frame))
    stage_frame(lake, run_id, "rejects", batch, rejected)
    stage_frame(lake, run_id, "entities", batch, child_frame("entities", entity_rows, frame))
    stage_frame(lake, run_id, "quotes", batch, child_frame("quotes", quotes, frame))
    crash_point("batch-staged")
    return result


def _writable(articles: list[Article], failed: list[Reject]) -> tuple[list[Article], pl.DataFrame]:
    """The batch's articles whose rows the tables can hold, and their frame; an article whose
    row cannot be built becomes a reject (appended to `failed`) instead of failing the batch.

    The frame is built once for the batch; only when that fails is each article tried alone.
    """
    try:
        return articles, articles_frame(articles)
    except Exception:  # noqa: BLE001 - which article is at fault is found below
        kept = []
        for article in articles:
            try:
                articles_frame([article])
            except Exception as exc:  # noqa: BLE001 - one odd value must not cost the batch
                failed.append(
                    Reject(
                        source=article.source,
                        url=article.url,
                        stage="write",
                        error=type(exc).__name__,
                        reason=f"the article's row cannot be written: {exc}",
                        fetched_at=article.fetched_at,
                    )
                )
            else:
                kept.append(article)
        return kept, articles_frame(kept)


def process_in_turn(
    items: Iterable[RawPage | Reject], *, settings: Settings, run_id: str, first_batch: int = 0
) -> BatchResult:
    """A stream's batches processed one after another in this process, numbered from
    `first_batch`: the work of a task that is itself a unit of the run (a shard, a day)."""
    totals = BatchResult()
    for number, (pages, rejects) in enumerate(batches(items, settings.run), start=first_batch):
        totals.add(process_batch.fn(pages, rejects, settings=settings, run_id=run_id, batch=number))
    return totals


def _entities_by_article(
    articles: list[Article], settings: Settings, result: BatchResult
) -> dict[str, list[Entity]]:
    """Entities of the batch's articles, one spaCy pass per language that has a model."""
    if not settings.entities.enabled:
        return {}
    by_model: dict[str, list[Article]] = {}
    for article in articles:
        model = settings.entities.model_for(article.language)
        if model is None:
            result.no_model[article.language or "unknown"] += 1
        else:
            by_model.setdefault(model, []).append(article)
    found: dict[str, list[Entity]] = {}
    options = settings.entities
    for model, group in by_model.items():
        pairs = [(a.title or "", a.text) for a in group]
        entities = find_entities(load_pipeline(model), pairs, options.labels, options.batch_size)
        found.update((a.article_id, e) for a, e in zip(group, entities, strict=True))
    return found


def _children(
    articles: list[Article], settings: Settings, result: BatchResult
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The `entities` and `quotes` rows of the batch's articles.

    Quotes are found in every language; speakers are attributed where the cue verbs are known
    (English) and resolved against the article's entities.
    """
    entities = _entities_by_article(articles, settings, result)
    entity_rows: list[dict[str, object]] = []
    quote_rows_: list[dict[str, object]] = []
    for article in articles:
        found = entities.get(article.article_id, [])
        entity_rows += [
            {"article_id": article.article_id, **entities_of(e, len(article.text))} for e in found
        ]
        # Speakers need the cue verbs (English) and the language's pipeline, for its parser.
        english = (article.language or "").startswith("en")
        model = settings.entities.model_for(article.language) if english else None
        nlp = load_pipeline(model) if model else None
        quoted = quote_rows(article.article_id, article.text, found, nlp=nlp)
        quote_rows_ += quoted
        domain = domain_of(article.url) or NO_DOMAIN
        result.by_domain[(domain, "entities")] += len(found)
        result.by_domain[(domain, "quotes")] += len(quoted)
    result.entities += len(entity_rows)
    result.quotes += len(quote_rows_)
    return entity_rows, quote_rows_
