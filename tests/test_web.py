"""Ingest from the web, for real: a local server, the Prefect flow, the raw zone, a kill and a resume."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from prefect.task_runners import ProcessPoolTaskRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from newslake.flows.ingest import RunSummary, ingest
from newslake.tasks.lake.query import run_query
from newslake.tasks.settings import load_settings
from tests.conftest import SAMPLES, assert_accounted

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

PAGES = sorted((SAMPLES / "html").glob("*.html.gz"))


def _serve(server: HTTPServer, count: int = len(PAGES)) -> list[str]:
    """Serve the sample pages (with ETags) and return their URLs, plus one missing page."""
    urls = []
    for number in range(count):
        body = gzip.decompress(PAGES[number % len(PAGES)].read_bytes())
        body = body.replace(b"</body>", f"<p>copy {number}</p></body>".encode())
        etag = f'"v{number}"'

        def handler(request: Request, body: bytes = body, etag: str = etag) -> Response:
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304)
            return Response(body, content_type="text/html; charset=utf-8", headers={"ETag": etag})

        path = f"/news/{number}.html"
        server.expect_request(path).respond_with_handler(handler)
        urls.append(server.url_for(path))
    urls.append(server.url_for("/news/missing.html"))
    return urls


def _settings(lake: Path):  # Settings, spelled once in the helper's body
    settings = load_settings()
    fetch = replace(
        settings.fetch, per_host_delay_s=0.0, allow_networks=("127.0.0.0/8",), backoff_s=0.01
    )
    return replace(settings, lake=str(lake), fetch=fetch)


def _run(inputs: list[str], lake: Path, **kw: bool) -> RunSummary:
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=1))
    return flow(inputs=inputs, settings=_settings(lake), workers=1, **kw)


def _article_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path.startswith("/news/"))


def test_url_list_then_skip_then_conditional_refresh(
    httpserver: HTTPServer, tmp_path: Path, lake: Path
) -> None:
    urls = _serve(httpserver)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")

    first = _run([str(listing)], lake)
    assert first.articles == len(PAGES)
    assert_accounted(lake, set(urls))
    host = f"127.0.0.1:{httpserver.port}".split(":")[0]
    assert first.web.hosts[host]["fetched"] == len(PAGES)
    assert first.web.hosts[host]["failed"] == 1
    reject = run_query(lake, "select stage, reason from rejects").rows()
    assert reject == [("fetch", "HTTP 404 NOT FOUND")]
    raw = pl.scan_parquet(lake / "raw", hive_partitioning=True).collect()
    assert raw.height == len(urls)
    assert raw.filter(pl.col("status") == 200)["body"].null_count() == 0
    sources = run_query(lake, "select source from articles").to_series().to_list()
    assert sorted(sources) == sorted(urls[:-1])

    requests_before = _article_requests(httpserver)
    second = _run([str(listing)], lake)
    assert second.web.skipped == len(urls)
    assert _article_requests(httpserver) == requests_before
    assert second.pages == 0

    third = _run([str(listing)], lake, refresh=True)
    assert third.web.hosts[host]["not modified"] == len(PAGES)
    assert run_query(lake, "select count(*) from articles").item() == len(PAGES)


def test_killed_run_resumes_without_loss_or_duplicates(
    httpserver: HTTPServer, tmp_path: Path, lake: Path
) -> None:
    urls = _serve(httpserver, count=40)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    env = {
        **os.environ,
        "NEWSLAKE_FETCH_PER_HOST_DELAY_S": "0",
        "NEWSLAKE_RUN_BATCH_PAGES": "4",
        "PREFECT_LOGGING_LEVEL": "ERROR",
    }
    command = [
        sys.executable,
        "-m",
        "newslake.flows.cli",
        "ingest",
        str(listing),
        "--lake",
        str(lake),
        "--workers",
        "1",
        "--allow-network",
        "127.0.0.0/8",
        "--no-progress",
    ]
    # Killed by its crash point the moment its fetches reached the raw zone, before any page
    # was extracted or committed: the kill certainly lands mid-run.
    killed = subprocess.run(
        command,
        env=env | {"NEWSLAKE_CRASH_AT": "raw-staged"},
        capture_output=True,
        timeout=300,
        check=False,
        start_new_session=True,  # the crash point kills its whole process group, not pytest's
    )
    assert killed.returncode == -signal.SIGKILL
    assert list((lake / "raw").glob("*/*.parquet")), "the run died before fetching"
    assert not (lake / "articles").exists()  # nothing committed: the run was cut off
    fetched = _article_requests(httpserver)
    assert fetched == len(urls)

    resumed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _article_requests(httpserver) == fetched  # nothing fetched twice
    raw = pl.scan_parquet(lake / "raw", hive_partitioning=True).collect()
    assert sorted(raw["url"].to_list()) == sorted(urls)  # each URL fetched exactly once
    assert not list(lake.glob("**/*.tmp"))

    clean = tmp_path / "clean"
    uninterrupted = subprocess.run(
        [*command[:6], str(clean), *command[7:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert uninterrupted.returncode == 0, uninterrupted.stdout + uninterrupted.stderr
    for table, key in (("articles", "article_id, content_hash"), ("rejects", "reject_id")):
        sql = f"select {key} from {table} order by all"
        assert run_query(lake, sql).rows() == run_query(clean, sql).rows()
    assert run_query(lake, "select count(*) from rejects").item() == 1
