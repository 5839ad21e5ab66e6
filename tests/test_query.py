"""`newslake query`'s engine: DuckDB views over the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.lake import commit_table, stage_frame
from tasks.query import QueryError, run_query
from tasks.tables import articles_frame
from tests.test_lake import BASE


def test_fresh_lake_answers_with_no_rows(lake: Path) -> None:
    frame = run_query(lake, "select count(*) as n from articles")
    assert frame["n"].to_list() == [0]
    assert run_query(lake, "select * from rejects").height == 0


def test_views_over_committed_rows(lake: Path) -> None:
    stage_frame(lake, "r", "articles", 0, articles_frame([BASE]))
    commit_table.fn(lake, "r", "articles")
    frame = run_query(lake, "select domain, date, authors[1] as first_author from articles")
    assert frame.rows() == [("news.example", BASE.published_at.date(), "Ann Lee")]


def test_bad_sql_is_a_query_error(lake: Path) -> None:
    with pytest.raises(QueryError, match="not_a_column"):
        run_query(lake, "select not_a_column from articles")
