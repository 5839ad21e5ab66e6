"""Cleaning of titles, bylines and timestamps taken from the page's own declarations."""

from __future__ import annotations

import pytest
from lxml.html import fromstring

from newslake.tasks.text.metadata import (
    clean_authors,
    clean_title,
    pick_title,
    read_page_meta,
)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Budget vote | Town Crier", "Budget vote"),
        ("Town Crier - Budget vote", "Budget vote"),
        ("Budget vote - towncrier.com", "Budget vote"),
        ("Story: the vote - what it means", "Story: the vote - what it means"),
        (
            "I sell holidays - booking the right day could save you thousands",
            "I sell holidays - booking the right day could save you thousands",
        ),
        ("Budget vote | Town Crier | by Ann Lee", "Budget vote"),
        ("Caf&eacute; closes", "Café closes"),
    ],
)
def test_clean_title(title: str, expected: str) -> None:
    assert clean_title(title, sitename="Town Crier", domain="towncrier.co.uk") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Budget vote | TC | 28.04.2023", "Budget vote"),  # the host's short label, then a date
        ("TC - Budget vote", "Budget vote"),
        ("Budget vote on 28.04.2023", "Budget vote on 28.04.2023"),  # a date inside stays
        ("The www - a history", "The www - a history"),  # "www" is no site name
    ],
)
def test_clean_title_knows_the_hosts_short_name(title: str, expected: str) -> None:
    assert clean_title(title, sitename="TC.COM", domain="www.tc.com") == expected


def test_pick_title_prefers_agreement() -> None:
    assert (
        pick_title([("SEO title", 1), ("Real title", 1), ("real  title", 1), (None, 1)])
        == "Real title"
    )
    assert pick_title([("Headline", 1), ("Decorated", 0.5)]) == "Headline"
    assert pick_title([(None, 1), ("Only", 1)]) == "Only"
    assert pick_title([(None, 1)]) is None


def test_clean_authors() -> None:
    assert clean_authors(["By Ann Lee", "ann lee", "news@x.com", "Bo Chen; Cy Dee"]) == (
        "Ann Lee",
        "Bo Chen",
        "Cy Dee",
    )


def test_read_page_meta_from_json_ld_graph() -> None:
    html = """<html><head><script type="application/ld+json">
    {"@graph": [{"@type": "WebSite", "name": "W"},
      {"@type": "NewsArticle", "headline": "H", "datePublished": "2024-01-02T03:04:05Z",
       "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Organization", "name": "Desk"}],
       "publisher": {"@type": "Organization", "name": "Town Crier"}}]}
    </script><meta property="og:title" content="OG"></head><body><h1>Head</h1></body></html>"""
    meta = read_page_meta(fromstring(html))
    assert meta.headline == "H"
    assert meta.og_title == "OG"
    assert meta.h1 == "Head"
    assert meta.authors == ("Ann Lee", "Desk")
    assert meta.sitename == "Town Crier"
    assert meta.published[0] == "2024-01-02T03:04:05Z"
