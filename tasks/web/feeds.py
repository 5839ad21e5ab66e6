"""Parse what outlets publish: feeds, sitemaps, robots.txt `Sitemap:` lines and URL lists.

Feeds are parsed by feedparser (RSS 0.9x-2.0, RSS 1.0, Atom) or as JSON Feed; each entry's
published (else updated) time is its candidate date. Sitemaps are parsed here with lxml,
because trafilatura's sitemap module returns bare links and a news backfill needs each URL's
`news:publication_date` (else `lastmod`) to select a date window. URLs are normalised and
de-duplicated with courlan, trafilatura's own URL library.
"""

from __future__ import annotations

import calendar
import gzip
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import feedparser
from lxml import etree

from newslake.tasks.text.dates import parse_timestamp
from newslake.tasks.web.urls import normalise_url

__all__ = [
    "Candidate",
    "SitemapLinks",
    "dedupe",
    "in_window",
    "looks_like_feed",
    "parse_feed",
    "parse_robots_sitemaps",
    "parse_sitemap",
    "parse_url_list",
]

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_URL_LIST_LINE = re.compile(r"^\s*(https?://\S+)\s*$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A URL to fetch, with the date its source gave it (if any) and where it was found."""

    url: str
    published: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class SitemapLinks:
    """What one sitemap document holds: pages, and further sitemaps (for an index)."""

    pages: list[Candidate]
    sitemaps: list[str]


def looks_like_feed(content: bytes) -> bool:
    """True for RSS, Atom or JSON Feed content (as opposed to a sitemap or a page)."""
    head = content[:2048].lstrip().lower()
    return head.startswith(b"{") or b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def parse_feed(content: bytes, base_url: str) -> list[Candidate]:
    """Entry links of an RSS, Atom or JSON feed, each with its published (else updated) date."""
    if content.lstrip().startswith(b"{"):
        try:
            items = json.loads(content).get("items", [])
        except (ValueError, AttributeError):
            return []
        found = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            link = item.get("url") or item.get("external_url") or item.get("id")
            url = normalise_url(str(link), base_url) if link else None
            if url:
                when = parse_timestamp(item.get("date_published") or item.get("date_modified"))
                found.append(Candidate(url=url, published=when))
        return found
    parsed = feedparser.parse(content, response_headers={"content-location": base_url})
    found = []
    for entry in parsed.entries:
        link = entry.get("link") or entry.get("id")
        url = normalise_url(str(link), base_url) if link else None
        if not url:
            continue
        with warnings.catch_warnings():
            # feedparser warns that `published_parsed` falls back to `updated_parsed`: we want that.
            warnings.simplefilter("ignore", DeprecationWarning)
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        when = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC) if stamp else None
        found.append(Candidate(url=url, published=when))
    return found


def _text(element: etree._Element, *names: str) -> str | None:
    for child in element.iter():
        if isinstance(child.tag, str) and etree.QName(child).localname in names:
            return (child.text or "").strip() or None
    return None


def parse_sitemap(content: bytes, base_url: str) -> SitemapLinks:
    """Pages and child sitemaps of an XML sitemap (gzipped or not), a sitemap index, a Google
    News sitemap, or a plain-text sitemap (one URL per line).

    A page's date is its `news:publication_date`, else its `lastmod`. Entries without a `<loc>`
    (seen in malformed indexes) are read from their text instead.
    """
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    if not content.lstrip().startswith(b"<"):
        return SitemapLinks(
            pages=parse_url_list(content.decode("utf-8", "replace"), base_url), sitemaps=[]
        )
    root = etree.fromstring(content, _PARSER)
    if root is None:
        return SitemapLinks(pages=[], sitemaps=[])
    pages: list[Candidate] = []
    sitemaps: list[str] = []
    for element in root:
        if not isinstance(element.tag, str):
            continue
        kind = etree.QName(element).localname
        loc = _text(element, "loc") or (element.text or "").strip()
        url = normalise_url(loc, base_url) if loc else None
        if not url:
            continue
        if kind == "sitemap":
            sitemaps.append(url)
        elif kind == "url":
            news_date = None
            for node in element.iter(f"{{{_NEWS_NS}}}publication_date"):
                news_date = (node.text or "").strip()
            when = parse_timestamp(news_date) or parse_timestamp(_text(element, "lastmod"))
            pages.append(Candidate(url=url, published=when))
    return SitemapLinks(pages=pages, sitemaps=sitemaps)


def parse_robots_sitemaps(robots_txt: str, base_url: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt."""
    found = []
    for line in robots_txt.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            url = normalise_url(value.strip(), base_url)
            if url:
                found.append(url)
    return found


def parse_url_list(text: str, base_url: str | None = None) -> list[Candidate]:
    """One URL per line; blank lines and `#` comments are skipped."""
    found = []
    for line in text.splitlines():
        match = _URL_LIST_LINE.match(line)
        url = normalise_url(match[1]) if match else None
        if url:
            found.append(Candidate(url=url))
    return found


def in_window(candidate: Candidate, since: date | None, until: date | None) -> bool:
    """Whether the candidate's date lies in [since, until]; undated candidates always pass."""
    if candidate.published is None:
        return True
    day = candidate.published.astimezone(UTC).date()
    return (since is None or day >= since) and (until is None or day <= until)


def dedupe(candidates: Iterable[Candidate]) -> Iterator[Candidate]:
    """The first candidate of each normalised URL, in order."""
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.url not in seen:
            seen.add(candidate.url)
            yield candidate
