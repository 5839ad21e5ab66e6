"""The lake: partitions read back by DuckDB and polars, atomic idempotent commits, the lock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from newslake.tasks.lake.commit import LakeBusyError, commit_table, lake_lock
from newslake.tasks.lake.staging import drop_staging, stage_frame
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import ARTICLES, REJECTS, articles_frame, rejects_frame
from newslake.tasks.records import Article, Reject
from tests.conftest import ARTICLE


def _commit(lake: Path, run_id: str, articles: list[Article], batch: int = 0) -> object:
    stage_frame(lake, run_id, "articles", batch, articles_frame(articles))
    stats = commit_table.fn(lake, run_id, "articles")
    drop_staging(lake, run_id)
    return stats


def _read(lake: Path) -> pl.DataFrame:
    return pl.scan_parquet(lake / "articles", hive_partitioning=True).collect().sort("article_id")


def test_partitions_read_back_by_duckdb_and_polars(lake: Path) -> None:
    undated = replace(ARTICLE, article_id="a2", published_at=None, content_hash="h2")
    _commit(lake, "run1", [ARTICLE, undated])
    files = sorted(p.relative_to(lake).as_posix() for p in (lake / "articles").rglob("*.parquet"))
    assert files == [
        "articles/date=2024-03-01/part-run1.parquet",  # one file per day, named after its run
        "articles/date=2024-03-02/part-run1.parquet",
    ]
    frame = _read(lake)
    assert frame.schema["date"] == pl.Date
    assert_frame_equal(
        frame.drop("date"), articles_frame([ARTICLE, undated]).drop("date").sort("article_id")
    )
    rows = duckdb.sql(
        f"select article_id, date, authors from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning=true) order by 1"
    ).fetchall()
    assert [(r[0], r[1].isoformat(), r[2]) for r in rows] == [
        ("a1", "2024-03-01", ["Ann Lee"]),
        ("a2", "2024-03-02", ["Ann Lee"]),
    ]


def test_recommit_of_same_rows_changes_nothing(lake: Path) -> None:
    _commit(lake, "run1", [ARTICLE])
    path = lake / "articles" / "date=2024-03-01" / "part-run1.parquet"
    before = path.stat().st_mtime_ns
    stats = _commit(lake, "run2", [replace(ARTICLE, run_id="run2")])
    assert stats.unchanged == 1
    assert stats.new == 0
    assert path.stat().st_mtime_ns == before
    assert _read(lake)["run_id"].to_list() == ["run1"]


def test_changed_page_replaces_its_row(lake: Path) -> None:
    _commit(lake, "run1", [ARTICLE])
    stats = _commit(
        lake, "run2", [replace(ARTICLE, text="New text.", content_hash="h9", run_id="run2")]
    )
    assert stats.updated == 1
    frame = _read(lake)
    assert frame["text"].to_list() == ["New text."]


def test_row_whose_date_changed_moves_partition(lake: Path) -> None:
    _commit(lake, "run1", [ARTICLE])
    moved = replace(ARTICLE, published_at=datetime(2024, 4, 1, tzinfo=UTC), content_hash="h3")
    _commit(lake, "run2", [moved])
    frame = _read(lake)
    assert frame.height == 1
    assert frame["date"].to_list()[0].isoformat() == "2024-04-01"
    assert not (lake / "articles" / "date=2024-03-01").exists()


def test_duplicates_within_a_run_keep_the_last(lake: Path) -> None:
    stage_frame(lake, "run1", "articles", 0, articles_frame([ARTICLE]))
    stage_frame(lake, "run1", "articles", 1, articles_frame([replace(ARTICLE, title="Later")]))
    stats = commit_table.fn(lake, "run1", "articles")
    assert stats.duplicates == 1
    assert _read(lake)["title"].to_list() == ["Later"]


def test_staging_is_invisible_to_readers(lake: Path) -> None:
    _commit(lake, "run1", [ARTICLE])
    stage_frame(lake, "killed", "articles", 0, articles_frame([replace(ARTICLE, article_id="zz")]))
    assert _read(lake)["article_id"].to_list() == ["a1"]
    with lake_lock(lake):  # the next run sweeps what a killed run left behind
        assert not (lake / "_staging").exists()


def test_second_run_on_the_same_lake_is_refused(lake: Path) -> None:
    with (
        lake_lock(lake),
        pytest.raises(LakeBusyError, match="another newslake run"),
        lake_lock(lake),
    ):
        pass


def test_rejects_frame_ids_are_stable() -> None:
    reject = Reject(source="a.jsonl:3", url=None, stage="load", error="LoadError", reason="bad")
    first = rejects_frame([reject], run_id="r1")
    second = rejects_frame([reject], run_id="r2")
    assert first["reject_id"].to_list() == second["reject_id"].to_list()
    assert first["date"].dtype == pl.Date
    # A reject with no URL and no fetch time still has the table's types (not null columns).
    assert first.drop("date").schema == REJECTS


def test_empty_frames_have_the_schema() -> None:
    assert articles_frame([]).drop("date").schema == ARTICLES


def test_a_page_that_became_an_article_leaves_rejects(lake: Path) -> None:
    reject = Reject(
        source="in.html", url=None, stage="extract", error="ExtractError", reason="no text"
    )
    stage_frame(lake, "run1", "rejects", 0, rejects_frame([reject], run_id="run1"))
    commit_table.fn(lake, "run1", "rejects")
    drop_staging(lake, "run1")
    stage_frame(lake, "run2", "articles", 0, articles_frame([ARTICLE]))
    commit_table.fn(lake, "run2", "articles")
    resolved = pl.Series("source", ["in.html"])
    commit_table.fn(lake, "run2", "rejects", resolved)
    assert not list((lake / "rejects").rglob("*.parquet"))


def test_an_undated_article_is_partitioned_by_its_capture_day() -> None:
    """No publication date: the day the page was fetched, else the day it was extracted."""
    later = datetime(2024, 3, 9, tzinfo=UTC)  # extracted a week after the fetch (a reprocess)
    fetched = replace(ARTICLE, published_at=None, extracted_at=later)
    extracted = replace(fetched, article_id="a2", fetched_at=None)
    days = articles_frame([fetched, extracted])["date"].to_list()
    assert days == [ARTICLE.fetched_at.date(), later.date()]


def test_rows_merge_into_a_partition_written_before_a_column_existed(lake: Path) -> None:
    """An upgrade: a day's file from an older newslake lacks a column; a run that changes a
    row of that day merges the old file's rows, with the column empty."""
    old = replace(ARTICLE, article_id="a0", url="https://news.example/0", content_hash="h0")
    stage_frame(lake, "r1", "articles", 0, articles_frame([ARTICLE, old]))
    commit_table.fn(lake, "r1", "articles")
    drop_staging(lake, "r1")
    (path,) = Lake.of(lake).partition_files("articles")
    pl.read_parquet(path).drop("seo_title").write_parquet(path)
    changed = replace(ARTICLE, text="New text.", content_hash="h9")
    newer = replace(ARTICLE, article_id="a2", url="https://news.example/2", seo_title="SEO")
    stage_frame(lake, "r2", "articles", 0, articles_frame([changed, newer]))
    commit_table.fn(lake, "r2", "articles")
    (merged,) = Lake.of(lake).partition_files("articles")  # the day's files merged into one
    rows = pl.read_parquet(merged).select("article_id", "seo_title", "text").sort("article_id")
    assert rows.rows() == [
        ("a0", None, ARTICLE.text),
        ("a1", None, "New text."),
        ("a2", "SEO", ARTICLE.text),
    ]


@pytest.mark.parametrize("store", ["local", "s3"])
def test_many_files_read_at_once(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # On an object store the GETs of a commit's files go out together; what comes back must be
    # each file's rows under its own path, in the order asked, with a missing file an error
    # unless the caller allows it (an index shard not written yet).
    url = str(tmp_path / "lake") if store == "local" else request.getfixturevalue("s3_lake").url
    lake = Lake.of(url)
    paths = [lake.path("t", f"{n}.parquet") for n in range(3)]
    for n, path in enumerate(paths):
        lake.write(pl.DataFrame({"n": [n, n]}), path)
    missing = lake.path("t", "absent.parquet")

    got = lake.read_each([paths[2], missing, paths[0]], missing_ok=True)
    assert {path: frame["n"].to_list() for path, frame in got.items()} == {
        paths[2]: [2, 2],
        paths[0]: [0, 0],
    }
    assert list(got) == [paths[2], paths[0]]
    with pytest.raises(FileNotFoundError):
        lake.read_each([paths[0], missing])
    assert lake.read(paths)["n"].to_list() == [0, 0, 1, 1, 2, 2]
    assert lake.read_optional(missing) is None
    assert lake.read_optional(paths[1], ["n"])["n"].to_list() == [1, 1]  # type: ignore[index]
