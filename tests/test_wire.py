"""The `wire` column: the agency an article credits, from its dateline, byline or credit line."""

from __future__ import annotations

import pytest

from newslake.tasks.records import RawPage
from newslake.tasks.settings import load_settings
from newslake.tasks.text.extract import article_from_html
from newslake.tasks.text.wire import wire_of

BODY = "The council met on Monday and voted to rebuild the pier before the winter storms."


@pytest.mark.parametrize(
    ("text", "authors", "wire"),
    [
        (f"WASHINGTON (AP) — {BODY}", (), "AP"),
        (f"KYIV, Ukraine (Reuters) - {BODY}", (), "Reuters"),
        (f"BERLIN (dpa) - {BODY}", (), "dpa"),
        (BODY, ("By Reuters",), "Reuters"),
        (BODY, ("Associated Press",), "AP"),
        (f"{BODY}\n— AFP", (), "AFP"),
        (f"{BODY}\n© dpa", (), "dpa"),
        (f"{BODY}\nReporting by Ann Lee; Editing by Tom Doe", (), "Reuters"),
        (BODY, ("Ann Lee",), None),
        (
            f"{BODY}\nThe mayor told Reuters and the local paper that the work starts in May.",
            (),
            None,
        ),
    ],
)
def test_wire_credits(text: str, authors: tuple[str, ...], wire: str | None) -> None:
    assert wire_of(text, authors) == wire


def test_declared_access_and_modification_time() -> None:
    html = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        '"headline": "Pier vote", "isAccessibleForFree": "False", '
        '"datePublished": "2024-05-01T08:00:00Z", "dateModified": "2024-05-02T09:30:00Z"}'
        "</script></head><body><article><h1>Pier vote</h1>"
        f"<p>BERLIN (dpa) - {BODY} {BODY}</p><p>{BODY}</p></article></body></html>"
    )
    page = RawPage(source="t", url="https://news.example/pier")
    article = article_from_html(
        page, html, options=load_settings().extract, timeout_s=0, run_id="r"
    )
    assert article.is_free is False
    assert article.modified_at is not None
    assert article.modified_at.isoformat() == "2024-05-02T09:30:00+00:00"
    assert article.wire == "dpa"
