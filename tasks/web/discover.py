"""Walk outlets' feeds, sitemaps and sites to the article URLs a run should fetch.

Sitemap indexes are followed breadth-first up to `fetch.max_sitemap_depth` levels and
`fetch.max_sitemaps` documents, so a hostile or enormous index cannot keep a run busy. Every
discovery request goes through the run's Fetcher: the same politeness, robots.txt and network
guard as article fetches. A feed or sitemap that cannot be fetched is reported, not fatal.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import date

from newslake.tasks.web.feeds import (
    Candidate,
    dedupe,
    in_window,
    looks_like_feed,
    parse_feed,
    parse_robots_sitemaps,
    parse_sitemap,
)
from newslake.tasks.web.fetch import Fetcher
from newslake.tasks.web.sources import Outlet

__all__ = ["Discovery", "discover"]


@dataclass(kw_only=True)
class Discovery:
    """Candidates found, and the discovery documents that failed, with their reasons."""

    candidates: list[Candidate] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    documents: int = 0


async def _document(fetcher: Fetcher, url: str, found: Discovery) -> bytes | None:
    result = await fetcher.fetch(url, html_only=False)
    found.documents += 1
    if not result.ok:
        found.failures[url] = result.error or f"HTTP {result.status}"
        return None
    return result.body


async def _outlet(
    fetcher: Fetcher, outlet: Outlet, since: date | None, until: date | None, found: Discovery
) -> list[Candidate]:
    options = fetcher.options
    pages: list[Candidate] = []
    sitemaps: deque[tuple[str, int]] = deque((s, 0) for s in outlet.sitemaps)
    for site in outlet.sites:
        robots = await _document(fetcher, site.rstrip("/") + "/robots.txt", found)
        if robots:
            sitemaps.extend(
                (s, 0) for s in parse_robots_sitemaps(robots.decode("utf-8", "replace"), site)
            )
    for feed in outlet.feeds:
        body = await _document(fetcher, feed, found)
        if body:
            pages.extend(parse_feed(body, feed))
    pages.extend(Candidate(url=u) for u in outlet.urls)
    for url in outlet.probe:
        result = await fetcher.fetch(url, html_only=False)
        ctype = result.headers.get("content-type", "")
        if not result.ok or result.body is None:
            found.failures[url] = result.error or f"HTTP {result.status}"
        elif "html" in ctype and not looks_like_feed(result.body):
            pages.append(Candidate(url=url))
        elif looks_like_feed(result.body):
            pages.extend(parse_feed(result.body, url))
        else:
            links = parse_sitemap(result.body, url)
            pages.extend(links.pages)
            sitemaps.extend((s, 1) for s in links.sitemaps)
    seen: set[str] = set()
    while sitemaps and len(seen) < options.max_sitemaps:
        url, depth = sitemaps.popleft()
        if url in seen or depth > options.max_sitemap_depth:
            continue
        seen.add(url)
        body = await _document(fetcher, url, found)
        if body:
            links = parse_sitemap(body, url)
            pages.extend(links.pages)
            sitemaps.extend((s, depth + 1) for s in links.sitemaps)
    return [c for c in pages if outlet.accepts(c.url) and in_window(c, since, until)]


async def discover(
    fetcher: Fetcher, outlets: list[Outlet], *, since: date | None = None, until: date | None = None
) -> Discovery:
    """Every outlet's candidate article URLs, filtered, normalised and de-duplicated."""
    found = Discovery()
    # Outlets are walked concurrently: one slow or dead host must not hold up the others.
    per_outlet = await asyncio.gather(*(_outlet(fetcher, o, since, until, found) for o in outlets))
    found.candidates = list(dedupe(c for batch in per_outlet for c in batch))
    return found
