"""Parsing what outlets publish: the real feeds and sitemaps of the shared corpus."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from newslake.tasks.web.feeds import (
    Candidate,
    dedupe,
    in_window,
    looks_like_feed,
    parse_feed,
    parse_robots_sitemaps,
    parse_sitemap,
    parse_url_list,
)
from tests.conftest import corpus

BASE = "https://news.example/"


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("rss-parser_guardian.rss", 55),
        ("rss-parser_heise.atom", 15),
        ("feedjira_TechCrunch.xml", 20),
        ("rss-parser_encoding.rss", 40),
        ("trafilatura_feed.json", 25),
    ],
)
def test_real_feeds(name: str, count: int) -> None:
    content = corpus("feeds", name).read_bytes()
    assert looks_like_feed(content)
    found = parse_feed(content, BASE)
    assert len(found) == count
    assert all(c.url.startswith("http") for c in found)
    assert all(c.published is not None for c in found)


def test_feed_without_xml_declaration_in_latin1() -> None:
    found = parse_feed(corpus("feeds", "rss-parser_uolNoticias.rss").read_bytes(), BASE)
    assert len(found) == 15


def test_google_news_sitemap_dates() -> None:
    links = parse_sitemap(
        corpus("sitemaps", "crawler-commons_shinpaideshou-news-sitemap.xml").read_bytes(), BASE
    )
    assert len(links.pages) == 3
    assert links.pages[0].published == datetime(2017, 4, 25, 10, 0, 36, tzinfo=UTC)


def test_plain_and_gzipped_sitemaps_agree() -> None:
    plain = parse_sitemap(corpus("sitemaps", "trafilatura_sitemap.xml").read_bytes(), BASE)
    packed = parse_sitemap(corpus("sitemaps", "trafilatura_sitemap.xml.gz").read_bytes(), BASE)
    assert len(plain.pages) == 84
    assert plain == packed


def test_sitemap_index_and_malformed_index() -> None:
    index = parse_sitemap(corpus("sitemaps", "trafilatura_sitemap2.xml").read_bytes(), BASE)
    assert index.sitemaps
    assert not index.pages
    malformed = parse_sitemap(
        corpus("sitemaps", "crawler-commons_sitemap.index.xml").read_bytes(), BASE
    )
    assert len(malformed.sitemaps) == 15


def test_robots_sitemap_lines_and_url_lists() -> None:
    robots = "User-agent: *\nDisallow: /x\nSitemap: https://news.example/sitemap.xml\nsitemap: /news.xml\n"
    assert parse_robots_sitemaps(robots, BASE) == [
        "https://news.example/sitemap.xml",
        "https://news.example/news.xml",
    ]
    listed = parse_url_list(
        "# outlets\nhttps://a.example/1?utm_source=x\n\nnot a url\nhttps://a.example/2\n"
    )
    assert [c.url for c in listed] == ["https://a.example/1", "https://a.example/2"]


def test_window_and_dedupe() -> None:
    day = datetime(2022, 9, 10, 12, tzinfo=UTC)
    assert in_window(Candidate(url="u", published=day), date(2022, 9, 10), date(2022, 9, 10))
    assert not in_window(Candidate(url="u", published=day), date(2022, 9, 11), None)
    assert in_window(Candidate(url="u"), date(2030, 1, 1), None)
    found = list(dedupe([Candidate(url="a"), Candidate(url="b"), Candidate(url="a")]))
    assert [c.url for c in found] == ["a", "b"]


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://news.example/&secret;</loc></url></urlset>"""

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">'
        % (i, b"".join(b"&lol%s;" % (str(i - 1).encode() if i > 1 else b"") for _ in range(10)))
        for i in range(1, 10)
    )
    + b']><rss version="2.0"><channel><item><link>https://news.example/&lol9;</link></item></channel></rss>'
)


def test_sitemaps_never_read_local_files_through_entities() -> None:
    links = parse_sitemap(XXE, "https://news.example/sitemap.xml")
    # The external entity is not resolved: the one <loc> keeps only its literal part.
    assert [c.url for c in links.pages] == ["https://news.example/"]
    assert links.sitemaps == []


def test_entity_expansion_bombs_stay_small() -> None:
    # Neither parser expands the entities: the sitemap reader finds no <url>, the feed reader
    # keeps the one link with the entity reference left unexpanded (a billion "lol"s otherwise).
    assert parse_sitemap(LAUGHS, "https://news.example/feed.xml").pages == []
    found = parse_feed(LAUGHS, "https://news.example/feed.xml")
    assert [c.url for c in found] == ["https://news.example/%26lol9"]
