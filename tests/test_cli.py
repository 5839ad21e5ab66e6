"""The `newslake` command as a user runs it: ingest, query in each format, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newslake.flows.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_then_query(lake: Path) -> None:
    html = str(SAMPLES / "html")
    result = runner.invoke(
        app, ["ingest", html, "--lake", str(lake), "--workers", "1", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "pages read" in result.output
    assert "captures" in result.output
    as_json = runner.invoke(
        app,
        [
            "query",
            "select domain, count(*) n from articles group by 1 order by 1",
            "--lake",
            str(lake),
            "--format",
            "json",
        ],
    )
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.output)
    assert {r["domain"] for r in rows} >= {"salon.com", "threatpost.com", "computerbase.de"}
    as_csv = runner.invoke(
        app, ["query", "select count(*) as n from articles", "--lake", str(lake), "-f", "csv"]
    )
    assert as_csv.output.splitlines() == ["n", str(sum(r["n"] for r in rows))]
    as_table = runner.invoke(
        app, ["query", "select title from articles where domain = 'salon.com'", "--lake", str(lake)]
    )
    assert "emissions" in as_table.output.lower()


def test_missing_input_exits_non_zero(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "missing"), "--lake", str(tmp_path / "lake")]
    )
    assert result.exit_code == 1
    assert "input not found" in result.output


def test_bad_sql_exits_non_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "select nope from articles", "--lake", str(tmp_path)])
    assert result.exit_code == 1
    assert "nope" in result.output
