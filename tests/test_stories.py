"""Stories: syndicated copies of one article share a story across runs, in any order; articles
that share only boilerplate do not."""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from newslake.flows.ingest import ingest
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.stories import signature_rows
from newslake.tasks.lake.tables import articles_frame
from tests.conftest import ARTICLE, readme_sql

# The module whose reads of the lake are the stories step's.
STORIES_STEP = sys.modules[signature_rows.__module__].__file__

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

_SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vel", "un", "dor", "pi", "gra", "bes", "tun"]
VOCABULARY = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "s", "ed")})
NEWSLETTER = (
    "Sign up for our morning newsletter to get the day's most important stories, local events, "
    "weather and traffic in your inbox before breakfast, every weekday, free of charge; you can "
    "unsubscribe at any time and we will never share your address with anyone else at all."
)


def _paragraphs(seed: int, count: int = 12) -> list[str]:
    """An article's paragraphs: sentences of words drawn from a fixed vocabulary."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(VOCABULARY) for _ in range(45)).capitalize() + "." for _ in range(count)
    ]


def _page(site: str, slug: str, day: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    title = f"{slug.replace('-', ' ').title()} on {site}"
    return (
        f'<html><head><title>{title}</title><link rel="canonical" '
        f'href="https://{site}/news/{slug}.html">'
        f'<meta property="article:published_time" content="{day}"></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def _write(folder: Path, pages: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, html in pages.items():
        (folder / f"{name}.html").write_text(html)
    return folder


def _run(inputs: list[Path], lake: Path) -> None:
    flow = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    flow(inputs=[str(i) for i in inputs], lake=str(lake))


def _stories(lake: Path) -> dict[str, tuple[str, float]]:
    """Canonical site of each article → (its story's first article's site, similarity)."""
    rows = run_query(
        lake,
        "select split_part(a.url, '/', 3), split_part(f.url, '/', 3), s.similarity "
        "from stories s join articles a using (article_id) "
        "join articles f on f.article_id = s.story_id",
    ).rows()
    return {site: (first, similarity) for site, first, similarity in rows}


def test_wire_copies_join_the_story_and_shared_boilerplate_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire = _paragraphs(1)
    first = {
        "original": _page("wire.example", "storm-hits-coast", "2022-09-01T08:00:00Z", wire),
        "other": _page("other.example", "budget-vote", "2022-09-01T09:00:00Z", _paragraphs(2)),
        "letter-a": _page(
            "letters-a.example", "school-opens", "2022-09-01T10:00:00Z",
            [*_paragraphs(3, 6), NEWSLETTER, NEWSLETTER],
        ),
        "letter-b": _page(
            "letters-b.example", "bridge-closes", "2022-09-01T11:00:00Z",
            [*_paragraphs(4, 6), NEWSLETTER, NEWSLETTER],
        ),
    }  # fmt: skip
    edited = list(wire)
    words = edited[3].split()
    edited[3] = " ".join([*words[:10], "reportedly", *words[10:30], *words[31:]])
    second = {
        # A dateline added, the last paragraph dropped and a credit line appended.
        "dateline": _page(
            "daily.example", "storm", "2022-09-01T12:00:00Z",
            ["HARBOURTON (AP) — " + wire[0], *wire[1:-1], "The Associated Press contributed."],
        ),
        "edited": _page("weekly.example", "storm-coast", "2022-09-02T07:00:00Z", edited),
    }  # fmt: skip
    lake = tmp_path / "lake"
    _run([_write(tmp_path / "first", first)], lake)
    read: list[str] = []
    real_read = Lake.read_each

    def recording(self: Lake, paths: list[str], *args: object, **kwargs: object) -> object:
        if sys._getframe(1).f_code.co_filename == STORIES_STEP:  # the stories step's reads
            read.extend(paths)
        return real_read(self, paths, *args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patched:
        patched.setattr(Lake, "read_each", recording)
        _run([_write(tmp_path / "second", second)], lake)  # a later run: joins stories in the lake
    # The stories step read each file it looked at once (one GET on an object store).
    stories_read = [p for p in read if "/stories/" in p and "/_staging/" not in p]
    assert stories_read
    assert len(stories_read) == len(set(stories_read))

    stories = _stories(lake)
    assert set(stories) == {
        "wire.example", "other.example", "letters-a.example", "letters-b.example",
        "daily.example", "weekly.example",
    }  # fmt: skip
    for copy in ("wire.example", "daily.example", "weekly.example"):
        assert stories[copy][0] == "wire.example", copy
    assert stories["wire.example"][1] == 1.0
    assert 0.5 <= stories["daily.example"][1] < 1.0
    for alone in ("other.example", "letters-a.example", "letters-b.example"):
        assert stories[alone] == (alone, 1.0), alone

    outlets = run_query(lake, readme_sql("one story's outlets in order of publication"))
    assert outlets["domain"].to_list() == ["wire.example", "daily.example", "weekly.example"]
    # Every copy's story starts when its first article was published.
    firsts = run_query(
        lake,
        "select a.domain, s.first_at from stories s join articles a using (article_id) "
        "where s.story_id = (select article_id from articles where domain = 'wire.example') "
        "order by 1",
    ).rows()
    wire_time = datetime(2022, 9, 1, 8, tzinfo=UTC)
    assert firsts == [(d, wire_time) for d in ("daily.example", "weekly.example", "wire.example")]

    # The same pages in one run, in another order, give the same stories.
    again = tmp_path / "again"
    _run([tmp_path / "second", tmp_path / "first"], again)
    same = "select article_id, story_id from stories order by article_id"
    assert run_query(again, same).rows() == run_query(lake, same).rows()


def test_a_copy_that_links_two_stories_merges_them(tmp_path: Path) -> None:
    """Two halves of one article come in one run, apart; the whole article joins both later."""
    whole = _paragraphs(5, 20)  # each half is about 0.65 of it; the halves about 0.3 alike
    halves = {
        "first-half": _page("a.example", "half-one", "2022-09-01T08:00:00Z", whole[:13]),
        "second-half": _page("b.example", "half-two", "2022-09-01T09:00:00Z", whole[7:]),
    }
    lake = tmp_path / "lake"
    _run([_write(tmp_path / "halves", halves)], lake)
    before = _stories(lake)
    assert before["a.example"][0] == "a.example"
    assert before["b.example"][0] == "b.example"

    whole_page = {"whole": _page("c.example", "whole", "2022-09-01T10:00:00Z", whole)}
    _run([_write(tmp_path / "whole", whole_page)], lake)
    after = _stories(lake)
    assert {site: first for site, (first, _) in after.items()} == {
        "a.example": "a.example", "b.example": "a.example", "c.example": "a.example",
    }  # fmt: skip
    assert run_query(lake, "select count(*) from stories").item() == 3


def test_articles_that_share_no_text_share_no_band() -> None:
    """The bands are the candidate filter: only articles with text in common are compared, so
    a commit's story step reads a handful of candidates, not every article of the window."""
    frame = articles_frame(
        [
            replace(ARTICLE, article_id="a1", text=" ".join(_paragraphs(1))),
            replace(ARTICLE, article_id="a2", text=" ".join(_paragraphs(2))),
        ]
    )
    first, second = signature_rows(frame)["bands"].to_list()
    assert len(set(first)) == len(first) > 1
    assert set(first).isdisjoint(second)
