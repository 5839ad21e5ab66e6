"""`newslake query`'s engine: DuckDB views over the lake."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from newslake.tasks.lake.commit import commit_table
from newslake.tasks.lake.query import QueryError, connect, run_query
from newslake.tasks.lake.staging import stage_frame
from newslake.tasks.lake.store import Lake, LakeNotFoundError
from newslake.tasks.lake.tables import articles_frame, captures_frame
from tests.conftest import ARTICLE


def test_fresh_lake_answers_with_no_rows(lake: Path) -> None:
    lake.mkdir()  # a lake no run has committed to yet
    frame = run_query(lake, "select count(*) as n from articles")
    assert frame["n"].to_list() == [0]
    assert run_query(lake, "select * from rejects").height == 0


def test_a_missing_lake_is_an_error_not_an_empty_lake(lake: Path) -> None:
    with pytest.raises(LakeNotFoundError, match="no lake at"):
        run_query(lake, "select count(*) from articles")


def test_views_over_committed_rows(lake: Path) -> None:
    stage_frame(lake, "r", "articles", 0, articles_frame([ARTICLE]))
    commit_table.fn(lake, "r", "articles")
    frame = run_query(lake, "select domain, date, authors[1] as first_author from articles")
    assert frame.rows() == [("news.example", ARTICLE.published_at.date(), "Ann Lee")]


def test_bad_sql_is_a_query_error(lake: Path) -> None:
    lake.mkdir()
    with pytest.raises(QueryError, match="not_a_column"):
        run_query(lake, "select not_a_column from articles")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("copy (select * from articles) to '{outside}'", "SELECT statements only"),
        ("attach '{outside}' as other", "SELECT statements only"),
        ("create table t as select 1", "SELECT statements only"),
        ("set enable_external_access = true", "SELECT statements only"),
        ("install httpfs", "SELECT statements only"),
        ("select 1; copy (select 1) to '{outside}'", "one SQL statement"),
        ("select * from read_csv('{secret}')", "disabled by configuration"),
        ("select * from read_parquet('{secret}')", "disabled by configuration"),
    ],
)
def test_query_reads_the_lake_and_nothing_else(
    lake: Path, tmp_path: Path, sql: str, message: str
) -> None:
    stage_frame(lake, "r", "articles", 0, articles_frame([ARTICLE]))
    commit_table.fn(lake, "r", "articles")
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    outside = tmp_path / "written.csv"
    with pytest.raises(QueryError, match=message):
        run_query(lake, sql.format(outside=outside, secret=secret))
    assert not outside.exists()
    assert run_query(lake, "explain select count(*) from articles").height > 0


def test_a_days_view_reads_those_days_and_gives_older_files_the_new_columns(lake: Path) -> None:
    """`connect(days=...)` (a run's health step) reads only the days asked for, and a file
    written before a column existed reads with that column as null, as the full views do."""
    untitled = replace(ARTICLE, article_id="a2", url="https://news.example/2", title=None)
    frame = articles_frame([ARTICLE, untitled])
    stage_frame(lake, "r", "captures", 0, captures_frame(frame))
    commit_table.fn(lake, "r", "captures")
    (day_file,) = Lake.of(lake).partition_files("captures")
    old = pl.read_parquet(day_file).drop("with_wire")  # as a lake from before the column
    old.write_parquet(day_file)
    day = ARTICLE.fetched_at.date()
    con = connect(lake, days={day})
    try:
        rows = con.sql(
            "select article_id, with_title, body_declared, with_wire from captures order by 1"
        ).fetchall()
        # Neither article says whether its body was marked: not declared, not unknown.
        assert rows == [("a1", True, False, None), ("a2", False, False, None)]
    finally:
        con.close()
    everything = run_query(lake, "select article_id, with_wire from captures order by 1")
    assert everything.rows() == [("a1", None), ("a2", None)]  # the full views do the same
    con = connect(lake, days={day.replace(year=day.year - 1)})
    try:
        assert con.sql("select count(*) from captures").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_view_from_a_day_reads_nothing_older(lake: Path) -> None:
    """`connect(since=...)` (`newslake health --days`) lists the partitions from that day on
    and reads no older file: an older partition that cannot be read does not matter."""
    older = replace(ARTICLE, article_id="a0", published_at=ARTICLE.published_at.replace(year=2023))
    stage_frame(lake, "r", "articles", 0, articles_frame([ARTICLE, older]))
    commit_table.fn(lake, "r", "articles")
    old_file = next(f for f in Lake.of(lake).partition_files("articles") if "2023-" in f)
    Path(old_file).write_bytes(b"not parquet")
    con = connect(lake, since=ARTICLE.published_at.date())
    try:
        assert con.sql("select article_id from articles").fetchall() == [("a1",)]
    finally:
        con.close()
