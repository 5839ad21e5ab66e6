"""The lake's index: kept exact by real runs, built once for a lake that has none, rebuilt by
`newslake reindex`, and enough for a run to touch only the partitions its rows touch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from typer.testing import CliRunner

from newslake.flows.cli import app
from newslake.flows.ingest import ingest
from newslake.tasks.lake.index import index_mismatch, read_index
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.store import Lake
from tests.conftest import lake_tables

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

WORDS = [
    "the",
    "harbour",
    "council",
    "met",
    "again",
    "on",
    "tuesday",
    "and",
    "voted",
    "on",
    "the",
    "plan",
    "for",
    "the",
    "pier",
    "after",
    "a",
    "long",
    "debate",
    "about",
    "the",
    "ferries",
    "the",
    "fishing",
    "fleet",
    "and",
    "the",
    "money",
    "the",
    "town",
    "still",
    "owes",
    "for",
    "the",
    "bridge",
]


def _text(seed: int, words: int = 120) -> str:
    """A distinct article text: the same vocabulary in an order set by `seed`."""
    return " ".join(WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(words))


def _record(slug: str, day: str, text: str) -> str:
    return json.dumps(
        {"url": f"https://news.example/{slug}.html", "text": text, "title": slug.title(),
         "published_at": f"{day}T08:00:00Z"}
    )  # fmt: skip


def _ingest(lake: Path, *files: Path) -> object:
    flow = ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    return flow(inputs=[str(f) for f in files], lake=str(lake))


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _first_runs(tmp_path: Path, lake: Path) -> None:
    """Two runs that move rows between partitions, resolve a reject and join a story."""
    story = _text(1, 300)
    first = _write(
        tmp_path / "dump.jsonl",
        [
            _record("pier-vote", "2024-03-01", _text(2)),
            "{not json",  # a reject (stage load) of dump.jsonl:2
            _record("wire-story", "2024-03-02", story),
            _record("ferry-fares", "2024-03-20", _text(3)),
        ],
    )
    _ingest(lake, first)
    assert index_mismatch(Lake.of(lake)) == (0, 0)
    second = _write(
        tmp_path / "dump.jsonl",
        [
            _record("pier-vote", "2024-03-05", _text(4)),  # its date and text changed: it moves
            _record("bridge-debt", "2024-03-02", _text(5)),  # line 2 is an article now
            _record("wire-copy", "2024-03-03", story + " The Associated Press contributed."),
        ],
    )
    _ingest(lake, second)


def test_runs_keep_the_index_exact(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _first_runs(tmp_path, lake)
    assert index_mismatch(Lake.of(lake)) == (0, 0)
    days = run_query(lake, "select slug, date from (select split_part(url, '/', 4) as slug, date "
                     "from articles) order by 1").rows()  # fmt: skip
    assert [(s, d.isoformat()) for s, d in days] == [
        ("bridge-debt.html", "2024-03-02"),
        ("ferry-fares.html", "2024-03-20"),
        ("pier-vote.html", "2024-03-05"),
        ("wire-copy.html", "2024-03-03"),
        ("wire-story.html", "2024-03-02"),
    ]
    assert run_query(lake, "select count(*) from rejects").item() == 0  # resolved, not kept
    (stories,) = run_query(lake, "select count(distinct story_id) from stories").row(0)
    assert stories == 4  # the wire copy joined the wire story
    index = read_index(Lake.of(lake))
    assert set(index["kind"]) == {
        "articles", "captures", "sourced", "versions", "stories", "story", "entities"
    } | ({"quotes"} if run_query(lake, "select count(*) from quotes").item() else set())  # fmt: skip


def test_a_lake_without_an_index_is_indexed_on_its_next_run(tmp_path: Path) -> None:
    indexed, upgraded = tmp_path / "indexed", tmp_path / "upgraded"
    (tmp_path / "inputs").mkdir()
    _first_runs(tmp_path / "inputs", indexed)
    shutil.copytree(indexed, upgraded)
    shutil.rmtree(upgraded / "_index")  # a lake as written before newslake kept an index
    more = _write(tmp_path / "more.jsonl", [_record("pier-vote", "2024-03-07", _text(6))])
    _ingest(upgraded, more)
    _ingest(indexed, more)
    assert (upgraded / "_index" / "manifest.parquet").exists()
    assert index_mismatch(Lake.of(upgraded)) == (0, 0)
    assert lake_tables(upgraded) == lake_tables(indexed)
    # The upgrade happened once: the next run does not rebuild (the manifest is not rewritten).
    built = (upgraded / "_index" / "manifest.parquet").stat().st_mtime_ns
    _ingest(upgraded, more)
    assert (upgraded / "_index" / "manifest.parquet").stat().st_mtime_ns == built


def test_a_run_reads_only_the_partitions_its_rows_touch(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _first_runs(tmp_path, lake)
    # Every partition of 2024-03-20 (far outside the next run's days and its stories window)
    # is made unreadable: a run that read the whole lake would fail on it.
    broken = sorted(lake.glob("*/date=2024-03-20/*.parquet"))
    assert broken
    for path in broken:
        path.write_bytes(b"not parquet")
    new = _write(tmp_path / "new.jsonl", [_record("tide-tables", "2024-04-30", _text(7))])
    summary = _ingest(lake, new)
    assert summary.articles == 1
    (day,) = (lake / "articles" / "date=2024-04-30").glob("*.parquet")
    titles = Lake.of(lake).read([str(day)])
    assert titles["title"].to_list() == ["Tide-Tables"]


def test_reindex_rebuilds_and_check_finds_a_stale_index(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _first_runs(tmp_path, lake)
    before = read_index(Lake.of(lake)).sort(["key", "kind", "date", "id"])
    runner = CliRunner()
    assert runner.invoke(app, ["reindex", "--check", "--lake", str(lake)]).exit_code == 0
    for shard in sorted((lake / "_index").glob("*.parquet"))[:3]:
        if shard.name != "manifest.parquet":
            shard.unlink()  # an index that lost shards would let a commit miss old rows
    result = runner.invoke(app, ["reindex", "--check", "--lake", str(lake)])
    assert result.exit_code == 1, result.output
    assert "rows missing" in result.output
    result = runner.invoke(app, ["reindex", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert "indexed" in result.output
    after = read_index(Lake.of(lake)).sort(["key", "kind", "date", "id"])
    assert after.equals(before)
    missing = runner.invoke(app, ["reindex", "--lake", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1
    assert "there is no lake" in missing.output
