"""The batch step (tasks/pages/batch.py): a stream in batches, each staged under its number, and
every page an article or a reject, even one whose row the tables cannot hold."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from newslake.tasks.pages.batch import _writable, process_in_turn
from newslake.tasks.pages.shard import shards
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.settings import load_settings
from tests.conftest import ARTICLE

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _article(name: str) -> str:
    return (
        "<p>"
        + " ".join(
            f"Number {i}: Maria Lopez said the cafe {name} reopened in Lisbon after the storm."
            for i in range(15)
        )
        + "</p>"
    )


def test_a_stream_processed_in_turn_stages_each_batch_under_its_number(lake: Path) -> None:
    """What a shard or a day does in its task: the stream's batches one after another, each
    staged under its own number from `first_batch`, and their counts summed."""
    settings = replace(load_settings(), lake=str(lake))
    settings = replace(settings, run=replace(settings.run, batch_pages=2))
    pages = [
        RawPage(
            source=f"p{n}.html",
            url=None,
            body=f"<html><body>{_article(str(n))}</body></html>".encode(),
        )
        for n in range(3)
    ]
    broken = Reject(source="bad.html", url=None, stage="load", error="LoadError", reason="x")
    totals = process_in_turn([*pages, broken], settings=settings, run_id="turn", first_batch=5)
    assert (totals.pages, totals.articles, dict(totals.rejects)) == (4, 3, {"load": 1})
    entities = pl.read_parquet(lake / "_staging" / "turn" / "entities")
    assert totals.entities == entities.height > 0  # the batches' counts summed
    staged = sorted(p.name for p in (lake / "_staging" / "turn" / "articles").iterdir())
    assert staged == ["000000000005.parquet", "000000000006.parquet"]
    sources = pl.read_parquet(lake / "_staging" / "turn" / "articles").get_column("source")
    assert sorted(sources.to_list()) == ["p0.html", "p1.html", "p2.html"]


def test_an_article_whose_row_cannot_be_built_is_a_write_reject() -> None:
    """One odd value (a lone surrogate the tables cannot store) costs that article, not the
    batch: it becomes a reject at stage "write" with the reason, the others are kept."""
    odd = replace(ARTICLE, article_id="a2", source="odd.html", title="Caf\ud800")
    failed: list[Reject] = []
    kept, frame = _writable([ARTICLE, odd], failed)
    assert [a.article_id for a in kept] == frame["article_id"].to_list() == ["a1"]
    (reject,) = failed
    assert (reject.source, reject.stage, reject.error) == (
        "odd.html",
        "write",
        "UnicodeEncodeError",
    )
    assert reject.reason.startswith("the article's row cannot be written: ")


@pytest.mark.parametrize(("pages", "workers", "sizes"), [
    (150, 2, [38, 38, 38, 36]),  # greedy 64, 64, 22 left one worker idle for the third
    (600, 2, [60] * 10),
    (130, 1, [44, 44, 42]),
    (3, 2, [2, 1]),
])  # fmt: skip
def test_html_shards_are_even_and_come_in_multiples_of_the_workers(
    pages: int, workers: int, sizes: list[int]
) -> None:
    files = [f"/in/{i:04d}.html" for i in range(pages)]
    cut = list(shards(files, 64, workers))
    assert [len(s) for s in cut] == sizes
    assert [f for s in cut for f in s] == files  # every file once, in order


def test_an_archive_is_a_shard_of_its_own_between_html_shards() -> None:
    files = ["/in/a.html", "/in/b.html", "/in/day.warc.gz", "/in/c.html"]
    cut = list(shards(files, 64, 2))
    assert cut == [["/in/a.html", "/in/b.html"], ["/in/day.warc.gz"], ["/in/c.html"]]
