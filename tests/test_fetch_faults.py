"""Fetch faults: a server that drops, stalls, lies and flips; every URL ends fetched or rejected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from prefect.task_runners import ProcessPoolTaskRunner

from newslake.flows.ingest import ingest
from newslake.tasks.lake.query import run_query
from newslake.tasks.settings import load_settings
from newslake.tasks.web.fetch import fetch_all
from tests.conftest import FETCH_OPTIONS, assert_accounted
from tests.faultserver import HANDLERS, PAGE, FaultServer

# The fetch tests' options, with a per-host cap and delay for the politeness checks.
OPTIONS = replace(
    FETCH_OPTIONS,
    per_host_delay_s=0.05,
    per_host_concurrency=2,
    timeout_s=0.5,
    total_timeout_s=2.0,
)


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


def test_every_fault_ends_fetched_or_rejected_politely(faults: FaultServer) -> None:
    urls = [faults.url(f"/{n}{path}") for n in range(2) for path in HANDLERS]
    results = {r.url: r for r in fetch_all(urls, OPTIONS, max_bytes=1_000_000)}

    assert set(results) == set(urls)
    by_path = {url.split("/", 4)[-1]: results[url] for url in urls if "/0/" in url}
    assert by_path["ok"].ok
    assert by_path["flip"].ok  # 500, retried, 200
    for path in ("drop", "reset", "stall", "short", "garbage-head", "bad-gzip"):
        assert not by_path[path].ok, path
        assert by_path[path].error, path
    assert by_path["stall"].transient
    assert "not an HTML page" in (by_path["html-as-image"].error or "")
    truncated = by_path["bad-deflate"]  # a cut deflate stream: what arrived, never junk
    assert truncated.ok
    assert truncated.body
    assert PAGE.startswith(truncated.body)
    long = by_path["long"]  # the stated length wins: 40 bytes, never more
    assert long.ok
    assert long.body == PAGE[:40]
    # Politeness held under faults: never more connections than the per-host cap.
    assert faults.max_open <= OPTIONS.per_host_concurrency
    # The per-host delay held: at most one request per delay in any half second. (The server
    # shares the test's process, so it may read two heads late and close together: a window,
    # not the gap between two arrivals, is what it can measure.)
    starts = sorted(at for at, path in faults.arrivals if path != "/robots.txt")
    busiest = max(sum(1 for t in starts if s <= t < s + 0.5) for s in starts)
    assert busiest <= 0.5 / OPTIONS.per_host_delay_s + 2


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_of_faulty_urls_accounts_for_every_page(
    faults: FaultServer, tmp_path: Path, lake: Path
) -> None:
    urls = [faults.url(f"/{n}{path}") for n in range(2) for path in HANDLERS]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    settings = load_settings()
    settings = replace(settings, lake=str(lake), fetch=replace(settings.fetch, **vars(OPTIONS)))
    flow = ingest.with_options(task_runner=ProcessPoolTaskRunner(max_workers=1))
    summary = flow(inputs=[str(listing)], settings=settings, workers=1)

    assert summary.pages == len(urls)
    assert_accounted(lake, set(urls))
    articles = set(run_query(lake, "select source from articles").to_series().to_list())
    rejects = run_query(lake, "select source, stage, reason from rejects").rows()
    assert all(reason for _, _, reason in rejects)
    assert {faults.url(f"/{n}/ok") for n in range(2)} <= articles
    stages = {source.split("/", 4)[-1]: stage for source, stage, _ in rejects}
    assert stages["drop"] == "fetch"
    assert stages["binary-as-html"] in {"decode", "extract"}
