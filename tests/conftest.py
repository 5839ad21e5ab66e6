"""Shared fixtures: one Prefect test harness for the run, a temporary lake, the shared corpus."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
CORPUS = Path(os.environ.get("NEWSLAKE_CORPUS", ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A real, temporary Prefect API for every flow run of the session (~7 s to start, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """An empty lake directory."""
    return tmp_path / "lake"


# What "the same lake" means in the tests that compare two runs: every table's ids and contents.
LAKE_QUERIES = {
    "articles": "select article_id, content_hash, date from articles order by 1",
    "rejects": "select reject_id, stage from rejects order by 1",
    "entities": "select article_id, entity_id, mentions from entities order by 1, 2",
    "quotes": "select quote_id, speaker_name from quotes order by 1",
}


def lake_tables(lake: Path | str) -> dict[str, list[tuple[object, ...]]]:
    """The rows of LAKE_QUERIES over a lake (a path or URL), read with DuckDB."""
    from tasks.query import run_query

    return {table: run_query(lake, sql).rows() for table, sql in LAKE_QUERIES.items()}


def corpus(*parts: str) -> Path:
    """A path in ../shared/corpus, or skip the test when the corpus is absent."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared corpus not available: {path}")
    return path


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """The test HTTP server listens on 127.0.0.1 (the fetcher's guard must be told to allow it)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def httpserver(make_httpserver: Any) -> Any:
    """pytest-httpserver's server, answering 404 (not 500) to paths no test registered,
    as a real site answers for a missing robots.txt."""
    server = make_httpserver
    server.clear()
    server.no_handler_status_code = 404
    return server


@dataclass(frozen=True)
class S3Lake:
    """A lake URL in a fresh bucket on a local S3 API, and the server behind it."""

    url: str
    server: Any
    secret: str


@pytest.fixture
def s3_lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Lake]:
    """moto's S3 server on 127.0.0.1, credentials in the environment, an empty bucket.

    moto keeps its buckets in process-wide state, so each test gets a bucket of its own.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    secret = "newslake-test-secret"
    for key, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "newslake-test",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = f"news-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield S3Lake(url=f"s3://{bucket}/lake", server=server, secret=secret)
    server.stop()


def seed_article() -> Any:
    """The reference article extracted with the default settings (skips without the corpus)."""
    from tasks.extract import article_from_html
    from tasks.records import RawPage
    from tasks.settings import load_settings

    html = corpus("seed", "kharkiv-offensive.html").read_text()
    page = RawPage(source="seed", url=None)
    return article_from_html(page, html, options=load_settings().extract, timeout_s=0, run_id="t")
