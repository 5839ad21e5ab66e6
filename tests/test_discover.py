"""Discovery over a real HTTP server: robots.txt → sitemap index → sitemaps, feeds, filters."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import replace
from datetime import date

from pytest_httpserver import HTTPServer

from newslake.tasks.web.discover import Discovery, discover
from newslake.tasks.web.fetch import Fetcher
from newslake.tasks.web.sources import Outlet
from tests.conftest import FETCH_OPTIONS

NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{base}/2022/09/10/kharkiv.html</loc>
    <news:news><news:publication_date>2022-09-10T15:42:00+01:00</news:publication_date></news:news></url>
  <url><loc>{base}/2022/09/12/izyum.html</loc>
    <news:news><news:publication_date>2022-09-12T08:00:00Z</news:publication_date></news:news></url>
</urlset>"""
ARCHIVE = """<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}/2021/01/05/old.html</loc><lastmod>2021-01-05</lastmod></url>
</urlset>"""
FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
  <item><link>{base}/2022/09/10/feed-story.html</link><pubDate>Sat, 10 Sep 2022 10:00:00 GMT</pubDate></item>
  <item><link>{base}/video/clip.html</link><pubDate>Sat, 10 Sep 2022 11:00:00 GMT</pubDate></item>
</channel></rss>"""


def _site(server: HTTPServer) -> str:
    base = server.url_for("").rstrip("/")
    server.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nSitemap: {base}/sitemap-index.xml\n"
    )
    server.expect_request("/sitemap-index.xml").respond_with_data(
        f"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>{base}/news.xml</loc></sitemap><sitemap><loc>{base}/archive.xml.gz</loc></sitemap>
        <sitemap><loc>{base}/sitemap-index.xml</loc></sitemap></sitemapindex>""",
        content_type="application/xml",
    )
    server.expect_request("/news.xml").respond_with_data(
        NEWS_SITEMAP.format(base=base), content_type="application/xml"
    )
    server.expect_request("/archive.xml.gz").respond_with_data(
        gzip.compress(ARCHIVE.format(base=base).encode()), content_type="application/gzip"
    )
    server.expect_request("/feed.xml").respond_with_data(
        FEED.format(base=base), content_type="application/rss+xml"
    )
    return base


def _discover(
    outlets: list[Outlet], since: date | None = None, until: date | None = None, **options: int
) -> Discovery:
    async def run() -> Discovery:
        async with Fetcher(replace(FETCH_OPTIONS, **options), max_bytes=1_000_000) as fetcher:
            return await discover(fetcher, outlets, since=since, until=until)

    return asyncio.run(run())


def test_robots_to_sitemap_index_to_sitemaps_and_feed(httpserver: HTTPServer) -> None:
    base = _site(httpserver)
    outlet = Outlet(
        name="site", sites=(base + "/",), feeds=(base + "/feed.xml",), exclude=("/video/",)
    )
    found = _discover([outlet])
    urls = sorted(c.url.removeprefix(base) for c in found.candidates)
    assert urls == [
        "/2021/01/05/old.html",
        "/2022/09/10/feed-story.html",
        "/2022/09/10/kharkiv.html",
        "/2022/09/12/izyum.html",
    ]
    assert not found.failures
    # the index lists itself: it is fetched once, not forever
    assert [r.path for r, _ in httpserver.log].count("/sitemap-index.xml") == 1


def test_date_window_selects_candidates(httpserver: HTTPServer) -> None:
    base = _site(httpserver)
    outlet = Outlet(name="site", sitemaps=(base + "/sitemap-index.xml",))
    found = _discover([outlet], since=date(2022, 9, 10), until=date(2022, 9, 10))
    assert [c.url.removeprefix(base) for c in found.candidates] == ["/2022/09/10/kharkiv.html"]


def test_depth_and_count_limits(httpserver: HTTPServer) -> None:
    base = _site(httpserver)
    outlet = Outlet(name="site", sitemaps=(base + "/sitemap-index.xml",))
    shallow = _discover([outlet], max_sitemap_depth=0)
    assert shallow.candidates == []
    capped = _discover([outlet], max_sitemaps=2)
    assert capped.documents == 2


def test_command_line_urls_are_sniffed(httpserver: HTTPServer) -> None:
    base = _site(httpserver)
    httpserver.expect_request("/2022/09/10/page.html").respond_with_data(
        "<html><body>x</body></html>", content_type="text/html"
    )
    outlet = Outlet(
        name="cli", probe=(base + "/feed.xml", base + "/news.xml", base + "/2022/09/10/page.html")
    )
    found = _discover([outlet])
    assert {c.url.removeprefix(base) for c in found.candidates} == {
        "/2022/09/10/feed-story.html",
        "/video/clip.html",
        "/2022/09/10/kharkiv.html",
        "/2022/09/12/izyum.html",
        "/2022/09/10/page.html",
    }


def test_dead_feed_is_reported_not_fatal(httpserver: HTTPServer) -> None:
    base = _site(httpserver)
    found = _discover([Outlet(name="x", feeds=(base + "/missing.xml", base + "/feed.xml"))])
    assert base + "/missing.xml" in found.failures
    assert len(found.candidates) == 2
