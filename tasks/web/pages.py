"""Pages from the web for the ingest flow: discover, skip what the lake has, fetch, keep raw.

`web_pages` yields RawPage or Reject items just like the file loaders, so the flow batches
them the same way. Fetching goes a chunk at a time; each chunk is written to the raw zone
before its pages are handed on, so a run killed after fetching loses nothing: the next run
finds those bodies in the raw zone, extracts them without the network, and fetches only what
it has not fetched yet.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import polars as pl
from prefect import task

from newslake.tasks.crashpoints import crash_point
from newslake.tasks.errors import FetchError
from newslake.tasks.lake.commit import known_sources
from newslake.tasks.lake.store import Lake
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.settings import FetchOptions, Settings
from newslake.tasks.web.discover import Discovery, discover
from newslake.tasks.web.fetch import Fetcher, FetchResult, fetch_all
from newslake.tasks.web.raw import RENDERED, fetch_state, raw_items, stage_raw
from newslake.tasks.web.render import Renderer, RenderError, RenderStats, wants_render
from newslake.tasks.web.sources import Outlet

__all__ = ["WebStats", "discover_candidates", "fetch_chunk", "fetch_missing", "web_pages"]

_CHUNK = 256


@dataclass(kw_only=True)
class WebStats:
    """What the web part of a run did, per host and overall."""

    hosts: dict[str, Counter[str]] = field(default_factory=dict)
    candidates: int = 0
    skipped: int = 0
    from_raw: int = 0
    discovery_failures: dict[str, str] = field(default_factory=dict)
    render: RenderStats | None = None  # what the browser did, when the run rendered

    def count(self, host: str, what: str) -> None:
        """Add one to a host's count of `what` (fetched, failed, not modified)."""
        self.hosts.setdefault(host, Counter())[what] += 1


@task(name="discover", retries=1, retry_delay_seconds=5)
def discover_candidates(
    outlets: list[Outlet],
    options: FetchOptions,
    max_bytes: int,
    since: date | None,
    until: date | None,
) -> Discovery:
    """Walk the outlets' feeds and sitemaps to candidate article URLs."""

    async def run() -> Discovery:
        async with Fetcher(options, max_bytes=max_bytes) as fetcher:
            return await discover(fetcher, outlets, since=since, until=until)

    return asyncio.run(run())


@task(name="fetch-chunk", task_run_name="fetch-{chunk}")
def fetch_chunk(
    urls: list[str],
    options: FetchOptions,
    max_bytes: int,
    validators: dict[str, tuple[str | None, str | None]],
    chunk: int,
) -> list[FetchResult]:
    """Fetch one chunk of URLs (concurrently, politely per host); the fetcher does the retries."""
    return fetch_all(urls, options, max_bytes=max_bytes, validators=validators)


def _final(state: pl.DataFrame) -> set[str]:
    """URLs whose last fetch settled the matter: fetched, not modified, or a permanent 4xx."""
    settled = state.filter(
        (~pl.col("transient").fill_null(False))
        & pl.col("status").is_not_null()
        & (pl.col("status") != 429)
    )
    return set(settled["url"].to_list())


def _fetch_into_raw(
    lake: Lake,
    todo: list[str],
    settings: Settings,
    run_id: str,
    stats: WebStats,
    validators: dict[str, tuple[str | None, str | None]],
) -> Iterator[RawPage | Reject]:
    """Fetch `todo` a chunk at a time, keep each chunk in the raw zone, then yield its pages
    (the rendered capture instead of the plain one, where the run renders)."""
    max_bytes = settings.limits.max_page_bytes
    renderer = None if settings.fetch.render == "never" else Renderer(settings.fetch, max_bytes)
    try:
        for chunk, start in enumerate(range(0, len(todo), _CHUNK)):
            results = fetch_chunk(
                todo[start : start + _CHUNK], settings.fetch, max_bytes, validators, chunk
            )
            items = stage_raw(lake, run_id, chunk, results)
            crash_point("raw-staged")
            if renderer is not None:
                items = _rendered(lake, renderer, settings, run_id, chunk, results, items, stats)
            for result, item in zip(results, items, strict=True):
                if result.not_modified:
                    stats.count(result.host, "not modified")
                    continue
                stats.count(result.host, "fetched" if result.ok else "failed")
                yield item
    finally:
        if renderer is not None:
            stats.render = renderer.stats
            renderer.close()


def _rendered(
    lake: Lake,
    renderer: Renderer,
    settings: Settings,
    run_id: str,
    chunk: int,
    results: list[FetchResult],
    items: list[RawPage | Reject],
    stats: WebStats,
) -> list[RawPage | Reject]:
    """The chunk's items with each page the run renders replaced by its rendered capture
    (kept in the raw zone beside the plain one, marked rendered), or by a "render failed"
    reject."""
    rendered: list[FetchResult] = []
    where: list[int] = []
    out = list(items)
    for n, (result, item) in enumerate(zip(results, items, strict=True)):
        if not isinstance(item, RawPage) or not wants_render(item, settings):
            continue
        try:
            html = renderer.render(item.url or result.url, item.body, item.charset)
        except RenderError as exc:
            stats.count(result.host, "render failed")
            failed = FetchError(f"render failed: {exc}", url=result.url)
            out[n] = Reject.from_error(
                failed, source=item.source, url=item.url, fetched_at=item.fetched_at
            )
            continue
        stats.count(result.host, "rendered")
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        rendered.append(
            replace(
                result,
                body=html.encode("utf-8", "replace"),
                fetched_at=datetime.now(UTC),
                headers=headers | {"content-type": "text/html; charset=utf-8", RENDERED: "1"},
            )
        )
        where.append(n)
    if rendered:
        staged = stage_raw(lake, run_id, chunk, rendered, rendered=True)
        for n, item in zip(where, staged, strict=True):
            out[n] = item
    return out


def web_pages(
    outlets: list[Outlet],
    settings: Settings,
    run_id: str,
    stats: WebStats,
    *,
    refresh: bool = False,
    since: date | None = None,
    until: date | None = None,
) -> Iterator[RawPage | Reject]:
    """Discover, then yield pages left in the raw zone and freshly fetched pages (or rejects)."""
    lake = Lake.of(settings.lake)
    found = discover_candidates(
        outlets, settings.fetch, settings.limits.max_page_bytes, since, until
    )
    stats.candidates = len(found.candidates)
    stats.discovery_failures = found.failures
    state = fetch_state(lake)
    fetched = _final(state)
    urls = [c.url for c in found.candidates]
    done = known_sources(lake, [u for u in urls if u in fetched])
    waiting = [u for u in urls if u in fetched and u not in done and not refresh]
    for item in raw_items(lake, waiting):
        stats.from_raw += 1
        yield item
    todo = [u for u in urls if refresh or u not in fetched]
    stats.skipped = len(urls) - len(todo) - len(waiting)
    validators: dict[str, tuple[str | None, str | None]] = {}
    if refresh:
        for row in state.filter(pl.col("url").is_in(todo)).iter_rows(named=True):
            validators[row["url"]] = (row["etag"], row["last_modified"])
    yield from _fetch_into_raw(lake, todo, settings, run_id, stats, validators)


def fetch_missing(urls: list[str], settings: Settings, run_id: str, stats: WebStats) -> None:
    """Fetch into the raw zone the URLs it has no settled fetch of (a backfill's first step)."""
    lake = Lake.of(settings.lake)
    fetched = _final(fetch_state(lake))
    todo = [u for u in urls if u not in fetched]
    stats.skipped = len(urls) - len(todo)
    for _ in _fetch_into_raw(lake, todo, settings, run_id, stats, {}):
        pass
