"""A local news site for the fetch, backfill and outage tests: dated stories, a sitemap with
lastmod days and an RSS feed, served on a pytest-httpserver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

# A local news site: two stories a day for four days, the first day outside the range the
# backfill tests ask for.
DAYS = [date(2022, 9, 1), date(2022, 9, 2), date(2022, 9, 3)]
OUTSIDE = date(2022, 8, 31)


def story_page(day: date, n: int) -> str:
    """A small dated news page with one attributed quote."""
    body = " ".join(
        f"Story {n} of {day:%B %d}: the harbour council met again, item {i}, and voted."
        for i in range(20)
    )
    return (
        f"<html><head><title>Story {n} of {day}</title>"
        f'<meta property="article:published_time" content="{day}T08:00:00Z"></head>'
        f"<body><article><h1>Story {n} of {day}</h1><p>{body}</p>"
        f'<p>"We will rebuild the pier," said Mayor Ana Ruiz.</p></article></body></html>'
    )


@dataclass(frozen=True)
class NewsSite:
    """URLs of the local news site: a sitemap (with lastmod days), an RSS feed, the stories."""

    sitemap: str
    feed: str
    stories: list[str]


def news_site(server: Any) -> NewsSite:
    """Serve the news site's stories, sitemap and feed on a pytest-httpserver."""
    stories, entries, items = [], [], []
    for day in [OUTSIDE, *DAYS]:
        for n in (1, 2):
            path = f"/{day}/story-{n}.html"
            server.expect_request(path).respond_with_data(
                story_page(day, n), content_type="text/html"
            )
            url = server.url_for(path)
            stories.append(url)
            entries.append(f"<url><loc>{url}</loc><lastmod>{day}</lastmod></url>")
            items.append(
                f"<item><title>Story {n}</title><link>{url}</link>"
                f"<pubDate>{day:%a, %d %b %Y} 08:00:00 +0000</pubDate></item>"
            )
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(entries)
        + "</urlset>"
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour News</title>'
        + "".join(items)
        + "</channel></rss>"
    )
    server.expect_request("/sitemap.xml").respond_with_data(sitemap, content_type="application/xml")
    server.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    return NewsSite(
        sitemap=server.url_for("/sitemap.xml"), feed=server.url_for("/feed.xml"), stories=stories
    )
