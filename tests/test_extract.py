"""Extraction on real pages: main text without page furniture, metadata, and hostile pages."""

from __future__ import annotations

import gzip
import json

import pytest
import trafilatura

from newslake.tasks.errors import ExtractError
from newslake.tasks.records import PreExtracted, RawPage
from newslake.tasks.settings import ExtractOptions
from newslake.tasks.text.extract import article_from_html, article_from_text
from tests.conftest import SAMPLES, corpus

OPTIONS = ExtractOptions()
PARAGRAPH = (
    "<p>"
    + " ".join(f"The council voted on item {i} of the budget today." for i in range(12))
    + "</p>"
)
PAGE = f"<html><head><title>Budget vote | Town Crier</title></head><body><article><h1>Budget vote</h1>{PARAGRAPH}</article></body></html>"


def _extract(html: str, url: str | None = "https://news.example/budget") -> object:
    return article_from_html(
        RawPage(source="t", url=url), html, options=OPTIONS, timeout_s=10, run_id="r"
    )


def test_seed_article_has_no_page_furniture() -> None:
    seed = corpus("seed")
    html = (seed / "kharkiv-offensive.html").read_text()
    expected = json.loads((seed / "kharkiv-offensive.entities.json").read_text())
    article = _extract(html, url=None)
    for furniture in expected["must_not_appear_in_text"]:
        assert furniture not in article.text
    assert "Kharkiv" in article.title
    assert article.authors == ("Hugo Bachega", "Matt Murphy")
    assert article.published_at is not None
    assert article.published_at.date().isoformat() == "2022-09-10"
    assert article.language == "en"
    for quote in json.loads((seed / "kharkiv-offensive.quotes.json").read_text())["quotes"]:
        assert quote["quote"].split()[0] in article.text


def test_bundled_sample_page_metadata() -> None:
    path = SAMPLES / "html" / "salon.com.emissions.html.gz"
    article = _extract(gzip.decompress(path.read_bytes()).decode(), url=None)
    assert article.domain == "salon.com"
    assert article.word_count > 300
    assert article.url.startswith("https://www.salon.com/2020/01/10/")
    assert article.content_hash
    assert len(article.article_id) == 32


def test_article_id_is_stable_and_follows_the_canonical_url() -> None:
    first = _extract(PAGE, url="https://news.example/budget?utm_source=x")
    second = _extract(PAGE, url="https://news.example/budget")
    assert first.article_id == second.article_id
    assert first.title == "Budget vote"


def test_feed_passed_as_a_page_is_rejected() -> None:
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    with pytest.raises(ExtractError, match="feed"):
        _extract(feed)


def test_page_without_main_text_is_rejected() -> None:
    with pytest.raises(ExtractError, match="no main text"):
        _extract("<html><body><nav><a href='/'>Home</a></nav></body></html>")


def test_truncated_html_still_yields_its_article() -> None:
    article = _extract(PAGE[: len(PAGE) - 40])
    assert "item 3 of the budget" in article.text


def test_deeply_nested_tags_still_yield_the_article() -> None:
    nested = "<div>" * 5000 + PARAGRAPH + "</div>" * 5000
    article = _extract(f"<html><body>{nested}</body></html>")
    assert "item 11 of the budget" in article.text


def test_short_and_long_articles_read_as_trafilatura_full_pass_reads_them() -> None:
    """A short article (under 150 words) takes trafilatura's full pass with its readability and
    jusText comparison; a long one keeps the fast pass's text, which on such a page is the text
    the full pass gives: skipping the comparison loses nothing there."""
    furniture = (
        "<nav><a href='/'>Home</a> <a href='/sport'>Sport</a></nav>"
        "<footer><p>Share this story. Sign up for our newsletter. All rights reserved.</p></footer>"
    )
    long_body = "".join(
        f"<p>{' '.join(f'Council item {i}.{j} passed after a long debate.' for j in range(4))}</p>"
        for i in range(12)
    )
    for body in (PARAGRAPH, long_body):
        html = f"<html><body>{furniture}<article><h1>Budget vote</h1>{body}</article></body></html>"
        full = trafilatura.extract(
            html, favor_precision=OPTIONS.favor_precision, include_comments=False,
            include_tables=OPTIONS.include_tables,
        )  # fmt: skip
        article = _extract(html)
        assert article.text == full
        assert "newsletter" not in article.text


def test_pre_extracted_text_is_kept_exactly() -> None:
    text = "  First line.\n\nSecond   line, kept as given.  "
    page = RawPage(source="d.jsonl:1", url="https://api.example/a/1")
    pre = PreExtracted(
        text=text, title="T", authors=("By Ann Lee",), published_at="2024-03-01T10:00:00+02:00"
    )
    article = article_from_text(page, pre, options=ExtractOptions(), run_id="r")
    assert article.text == text
    assert article.authors == ("Ann Lee",)
    assert article.published_at is not None
    assert article.published_at.hour == 8
    assert article.extractor == "pre-extracted"
