"""Captures, versions and the article row: every page read is a capture of its article or a
reject, and the article row is built from the latest complete capture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from newslake.flows.ingest import ingest
from newslake.tasks.lake.query import run_query
from tests.conftest import assert_accounted, readme_sql

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

PARAGRAPHS = [
    f"Paragraph {i}: the harbour council met again and voted on item {i}, after a long debate "
    f"about the pier, the ferries and the money the town still owes for the old bridge."
    for i in range(30)
]


def _page(paragraphs: list[str], *, title: str = "Council votes on the pier") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html><head><title>{title}</title><link rel="canonical" '
        f'href="https://news.example/2022/09/01/pier.html">'
        f'<meta property="article:published_time" content="2022-09-01T08:00:00Z"></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def _write(path: Path, html: str, mtime: float) -> None:
    path.write_text(html)
    os.utime(path, (mtime, mtime))


def _run(inputs: list[Path], lake: Path) -> object:
    flow = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    return flow(inputs=[str(i) for i in inputs], lake=str(lake))


def test_a_truncated_later_copy_never_replaces_the_complete_page(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    _write(pages / "complete.html", _page(PARAGRAPHS), 1_700_000_000)
    _write(pages / "truncated.html", _page(PARAGRAPHS[:8]), 1_700_003_600)  # an hour later
    lake = tmp_path / "lake"
    summary = _run([pages], lake)
    assert summary.pages == 2
    assert_accounted(lake, {str(pages / "complete.html"), str(pages / "truncated.html")})
    assert summary.articles == 1
    (words,) = run_query(lake, "select word_count from articles").row(0)
    assert words > 700  # the complete text, not the 8-paragraph copy
    captures = run_query(
        lake, "select source, is_current from captures order by captured_at"
    ).rows()
    assert [(Path(s).name, c) for s, c in captures] == [
        ("complete.html", True),
        ("truncated.html", False),
    ]


def test_a_later_changed_capture_becomes_the_article_and_the_old_text_a_version(
    tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    first = tmp_path / "first.html"
    _write(first, _page(PARAGRAPHS), 1_700_000_000)
    _run([first], lake)
    updated = tmp_path / "updated.html"
    changed = [*PARAGRAPHS[:-1], "Update: the council has since reversed its vote on the pier."]
    _write(updated, _page(changed, title="Council reverses pier vote"), 1_700_086_400)
    summary = _run([updated], lake)
    assert summary.tables["articles"].updated == 1
    assert run_query(lake, "select title from articles").item() == "Council reverses pier vote"
    versions = run_query(
        lake, "select title, text like '%reversed%' from versions order by captured_at"
    ).rows()
    assert versions == [("Council votes on the pier", False), ("Council reverses pier vote", True)]
    article_id = run_query(lake, "select article_id from articles").item()
    listed = run_query(lake, readme_sql("how a story changed").replace("…", article_id))
    assert listed["title"].to_list() == ["Council votes on the pier", "Council reverses pier vote"]
    assert listed["words_added"].to_list()[0] is None
    # Reading both captures again adds nothing.
    again = _run([first, updated], lake)
    assert again.tables["versions"].new == again.tables["captures"].new == 0
    assert run_query(lake, "select count(*) from captures").item() == 2
    assert run_query(lake, "select title from articles").item() == "Council reverses pier vote"


def test_of_captures_at_the_same_time_the_most_complete_wins(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    _write(pages / "a.html", _page(PARAGRAPHS[:25]), 1_700_000_000)
    _write(pages / "b.html", _page(PARAGRAPHS), 1_700_000_000)
    lake = tmp_path / "lake"
    _run([pages], lake)
    current = run_query(lake, "select source from captures where is_current").item()
    assert Path(current).name == "b.html"


def test_every_line_of_a_url_list_is_a_page_or_a_reject(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# my list\n\nfile:///etc/passwd\ngopher://old.example/1\nhtp:/typo\n")
    lake = tmp_path / "lake"
    summary = _run([urls], lake)
    assert summary.pages == 3
    rows = run_query(lake, "select source, stage, reason from rejects order by source").rows()
    assert [(s.rsplit(":", 1)[1], stage) for s, stage, _ in rows] == [
        ("3", "load"),
        ("4", "load"),
        ("5", "load"),
    ]
    assert "file:///etc/passwd" in rows[0][2]


def test_a_later_truncated_copy_leaves_the_articles_entities_and_quotes(tmp_path: Path) -> None:
    """A capture that does not become the article's row brings none of its child rows: the
    entities and quotes stay those of the row the lake keeps."""
    lead = "Tom Becker, the harbour master, opened the meeting in Portsmouth on Monday."
    said = (
        "\u201cWe will rebuild the pier before the winter storms,\u201d said Anna Berg, the mayor."
    )
    complete = [lead, *PARAGRAPHS[:8], said, *PARAGRAPHS[8:]]
    lake = tmp_path / "lake"
    first = tmp_path / "complete.html"
    _write(first, _page(complete), 1_700_000_000)
    _run([first], lake)
    children = "select name from entities union all select quote from quotes order by 1"
    before = run_query(lake, children).rows()
    assert ("Anna Berg",) in before
    truncated = tmp_path / "truncated.html"
    _write(truncated, _page(complete[:9]), 1_700_003_600)  # an hour later, cut before the quote
    summary = _run([truncated], lake)
    assert summary.tables["articles"].unchanged == 1
    assert run_query(lake, children).rows() == before
