"""Day partitions: new rows are added as a run's own file, changes merge the day, compact tidies."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from newslake.flows.cli import app
from newslake.tasks.lake.commit import commit_table, lake_lock
from newslake.tasks.lake.index import LakeIndex, index_mismatch
from newslake.tasks.lake.partitions import read_day
from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.staging import drop_staging, stage_frame
from newslake.tasks.lake.store import Lake
from newslake.tasks.lake.tables import articles_frame
from newslake.tasks.records import Article
from tests.conftest import ARTICLE, S3Lake

DAY = date(2024, 3, 1)


def _article(n: int, text: str = "Text.") -> Article:
    return replace(ARTICLE, article_id=f"a{n}", url=f"https://news.example/{n}",
                   content_hash=f"{n}-{text}", text=text)  # fmt: skip


def _commit(lake: Path | str, run_id: str, articles: list[Article]) -> None:
    stage_frame(lake, run_id, "articles", 0, articles_frame(articles))
    commit_table.fn(lake, run_id, "articles")
    drop_staging(lake, run_id)


def _day_files(lake: Path) -> list[str]:
    return sorted(p.name for p in (lake / "articles" / f"date={DAY}").glob("*.parquet"))


def _texts(lake: Path | str) -> list[tuple[str, str]]:
    return run_query(lake, "select article_id, text from articles order by 1").rows()


def test_new_rows_are_added_as_the_runs_file_without_reading_the_day(lake: Path) -> None:
    _commit(lake, "20240301T000000-a", [_article(1)])
    (first,) = (lake / "articles" / f"date={DAY}").glob("*.parquet")
    good = first.read_bytes()
    first.write_bytes(b"not parquet")  # a run that read the day would fail here
    _commit(lake, "20240302T000000-b", [_article(2)])
    first.write_bytes(good)
    assert _day_files(lake) == ["part-20240301T000000-a.parquet", "part-20240302T000000-b.parquet"]
    assert _texts(lake) == [("a1", "Text."), ("a2", "Text.")]
    assert LakeIndex(Lake.of(lake)).days("articles", pl.Series(["a1", "a2"])) == {DAY}
    assert index_mismatch(Lake.of(lake)) == (0, 0)


def test_a_changed_row_merges_the_days_files_into_one(lake: Path) -> None:
    _commit(lake, "20240301T000000-a", [_article(1)])
    _commit(lake, "20240302T000000-b", [_article(2)])
    _commit(lake, "20240303T000000-c", [_article(2, "Changed.")])
    assert _day_files(lake) == ["part-20240303T000000-c.parquet"]
    assert _texts(lake) == [("a1", "Text."), ("a2", "Changed.")]
    assert index_mismatch(Lake.of(lake)) == (0, 0)


def test_a_writer_killed_before_its_removals_is_read_as_it_meant(lake: Path) -> None:
    """The newer file holds a row's new version and the older its old one: the day reads the
    newer, and the next merge of the day leaves one file."""
    folder = lake / "articles" / f"date={DAY}"
    folder.mkdir(parents=True)
    older = articles_frame([_article(1), _article(2)]).drop("date")
    older.write_parquet(folder / "part-20240301T000000-a.parquet")
    older.filter(pl.col("article_id") == "a2").with_columns(text=pl.lit("Changed.")).write_parquet(
        folder / "part-20240302T000000-b.parquet"
    )
    rows, files, stale = read_day(Lake.of(lake), "articles", DAY)
    assert sorted(rows.select("article_id", "text").rows()) == [("a1", "Text."), ("a2", "Changed.")]
    assert (len(files), stale) == (2, True)
    runner = CliRunner()
    result = runner.invoke(app, ["compact", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert "compacted days: articles 1" in result.output
    (merged,) = _day_files(lake)
    assert merged.endswith("-compact.parquet")
    assert _texts(lake) == [("a1", "Text."), ("a2", "Changed.")]


def test_the_next_run_merges_the_days_a_killed_writer_left_twice(lake: Path) -> None:
    """Raw reads of the files (DuckDB's views, `read_parquet`) see a killed writer's old and new
    rows both; the next run, settling the lake under its lock, merges the days it staged."""
    _commit(lake, "20240301T000000-a", [_article(1), _article(2)])
    with lake_lock(lake):  # a run's start: the lake gets its index
        pass
    killed = "20240302T000000-b"
    stage_frame(lake, killed, "articles", 0, articles_frame([_article(2, "Changed.")]))
    merged = articles_frame([_article(1), _article(2, "Changed.")]).drop("date")
    merged.write_parquet(lake / "articles" / f"date={DAY}" / f"part-{killed}.parquet")
    assert len(_texts(lake)) == 4  # its merged file written, the old one not yet removed
    with lake_lock(lake):
        pass
    (only,) = _day_files(lake)
    assert only.endswith("-compact.parquet")
    assert _texts(lake) == [("a1", "Text."), ("a2", "Changed.")]
    assert index_mismatch(Lake.of(lake)) == (0, 0)
    assert not (lake / "_staging").exists()


def test_compact_leaves_one_file_a_day_and_the_same_rows(lake: Path) -> None:
    for n in range(1, 5):
        _commit(lake, f"2024030{n}T000000-r", [_article(n)])
    later = replace(_article(9), published_at=ARTICLE.published_at.replace(day=2))
    _commit(lake, "20240305T000000-r", [later])
    assert len(_day_files(lake)) == 4
    before = _texts(lake)
    runner = CliRunner()
    result = runner.invoke(app, ["compact", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert "compacted days: articles 1" in result.output
    assert len(_day_files(lake)) == 1
    assert _texts(lake) == before
    assert index_mismatch(Lake.of(lake)) == (0, 0)
    again = runner.invoke(app, ["compact", "--lake", str(lake)])
    assert "compacted days: none" in again.output


def test_compact_on_object_storage(s3_lake: S3Lake) -> None:
    _commit(s3_lake.url, "20240301T000000-a", [_article(1)])
    _commit(s3_lake.url, "20240302T000000-b", [_article(2)])
    store = Lake.of(s3_lake.url)
    assert len(store.partition_files("articles")) == 2
    result = CliRunner().invoke(app, ["compact", "--lake", s3_lake.url])
    assert result.exit_code == 0, result.output
    (merged,) = store.partition_files("articles")
    assert merged.endswith("-compact.parquet")
    assert _texts(s3_lake.url) == [("a1", "Text."), ("a2", "Text.")]
    assert index_mismatch(store) == (0, 0)
