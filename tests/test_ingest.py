"""The `ingest` flow, run for real under Prefect: samples and hostile inputs, twice."""

from __future__ import annotations

import codecs
import gzip
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from prefect.task_runners import ProcessPoolTaskRunner

from newslake.flows.ingest import RunSummary, ingest
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.runlog import recent_runs
from newslake.tasks.settings import load_settings
from tests.conftest import SAMPLES, assert_accounted, input_pages, lake_sources

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _article(name: str) -> str:
    """A paragraph unique to each file: pages without URL are identified by their text."""
    return (
        "<p>"
        + " ".join(
            f"Élan number {i}: the café {name} reopened after the storm, señor." for i in range(15)
        )
        + "</p>"
    )


CYRILLIC = (
    "<p>"
    + " ".join(f"Новость {i}: городской совет принял бюджет на следующий год." for i in range(15))
    + "</p>"
)


def _hostile_inputs(root: Path) -> Path:
    """One file per class of bad input the pipeline must survive."""
    root.mkdir()
    (root / "latin1.html").write_bytes(
        f"<html><body><article>{_article('latin1')}</article></body></html>".encode("cp1252")
    )
    (root / "cp1251.html").write_bytes(
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body><article>{CYRILLIC}</article></body></html>'.encode(
            "cp1251"
        )
    )
    (root / "utf16.html").write_bytes(
        codecs.BOM_UTF16_LE + f"<html><body>{_article('utf16')}</body></html>".encode("utf-16-le")
    )
    (root / "truncated.html").write_text(
        f"<html><body><article>{_article('truncated')}</article></bo"[:-200]
    )
    (root / "nul.html").write_bytes(
        f"<html><body>{_article('nul')}</body></html>".encode().replace(
            b"the storm", b"the\x00 storm"
        )
    )
    (root / "nested.html").write_text(
        "<html><body>" + "<div>" * 3000 + _article("nested") + "</div>" * 3000 + "</body></html>"
    )
    (root / "empty.html").write_bytes(b"")
    (root / "blank.htm").write_bytes(b"  \n\n ")
    (root / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(32)) * 128)
    (root / "corrupt.html.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (root / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" + b"a" * 30_000_000))
    (root / "huge.html").write_bytes(
        b"<html><body>" + b"<p>word word word</p>" * 1_000_000 + b"</body></html>"
    )
    (root / "feed.html").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    )
    (root / "bad.jsonl").write_text('{"url": "https://x.example/1", "html": 3}\nnot json\n')
    (root / "bad.warc").write_bytes(b"WARC/1.0\r\nWARC-Type: response\r\ngarbage\r\n\r\n")
    return root


def _run(inputs: list[str], lake: Path, workers: int = 2) -> RunSummary:
    """A real run with small batches, so that more batches exist than may be in flight at once."""
    settings = load_settings()
    settings = replace(settings, run=replace(settings.run, batch_pages=3))
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=workers))
    return flow(inputs=inputs, lake=str(lake), workers=workers, settings=settings)


def test_samples_and_hostile_inputs_every_page_accounted_for(tmp_path: Path, lake: Path) -> None:
    hostile = _hostile_inputs(tmp_path / "hostile")
    inputs = [str(SAMPLES), str(hostile)]
    first = _run(inputs, lake)
    # Every page given is in the lake once, measured from the tables: the samples' pages, each
    # hostile file, both dump lines; the broken archive's one reject under its own name.
    given = input_pages(SAMPLES) | {str(p) for p in hostile.iterdir() if "jsonl" not in p.name}
    given |= {f"{hostile / 'bad.jsonl'}:1", f"{hostile / 'bad.jsonl'}:2"}
    captures, rejects = lake_sources(lake)
    archive = [s for s in captures + rejects if s.startswith(str(hostile / "bad.warc"))]
    assert len(archive) == 1
    given = (given - {str(hostile / "bad.warc")}) | set(archive)
    assert_accounted(lake, given)
    assert first.articles >= 14
    (run,) = recent_runs(lake).rows(named=True)  # the run log's one row says what the run did
    assert (run["run_id"], run["articles"]) == (first.run_id, first.articles)
    rejects = run_query(lake, "select source, stage, reason from rejects")
    by_file = {Path(s.split(":")[0].split("#")[0]).name: (st, r) for s, st, r in rejects.rows()}
    for name in (
        "empty.html",
        "blank.htm",
        "binary.html",
        "corrupt.html.gz",
        "bomb.html.gz",
        "huge.html",
        "feed.html",
        "bad.jsonl",
        "bad.warc",
        "dump.jsonl",
    ):
        assert name in by_file, name
    assert by_file["binary.html"][0] == "decode"
    assert by_file["feed.html"][0] == "extract"
    assert "larger than the limit" in by_file["huge.html"][1]
    texts = dict(
        run_query(lake, "select regexp_extract(source, '[^/]+$'), text from articles").rows()
    )
    assert "café latin1 reopened" in texts["latin1.html"]
    assert "городской совет" in texts["cp1251.html"]
    assert "café utf16 reopened" in texts["utf16.html"]
    assert "Élan number 3" in texts["truncated.html"]
    assert "the storm" in texts["nul.html"]
    assert "Élan number 14" in texts["nested.html"]

    second = _run(inputs, lake, workers=1)
    assert second.pages == first.pages
    assert second.tables["articles"].new == 0
    assert second.tables["articles"].unchanged == first.articles
    count = run_query(lake, "select count(*) n, count(distinct article_id) d from articles")
    assert count.rows() == [(first.articles, first.articles)]
    assert (
        pl.scan_parquet(lake / "rejects", hive_partitioning=True).collect().height == first.rejected
    )
