"""Pages written by JavaScript, rendered in a real headless Chromium, with the fetcher's guards.

A local site serves an app shell: a `<noscript>` line, an empty `<div>`, and a script that
fetches the article as JSON and writes it in — plus a style sheet, an image, and two requests
to an address the run may not reach (one direct, one behind a redirect). A second server listens
on that address and counts what reaches it: nothing may.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from pytest_httpserver import HTTPServer

from newslake.tasks.lake.query import run_query
from tests.conftest import Cli

pytest.importorskip("playwright")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not any(shutil.which(c) for c in ("chromium", "google-chrome")),
        reason="no Chromium on this machine (make browser installs Debian's)",
    ),
]

PARAGRAPHS = [
    f"The harbour council voted on Tuesday to rebuild the old pier, item {n} of the plan, "
    "after a long debate about the cost of the work and who would pay for it."
    for n in range(12)
]
# The run may reach the site (127.0.0.1) only: 127.0.0.2 stands for the operator's own network.
ALLOW = ["--allow-network", "127.0.0.1/32"]


@pytest.fixture
def site() -> Iterator[HTTPServer]:
    """The news site, answering requests concurrently as real servers do (Chromium keeps a
    speculative connection open, which a one-at-a-time server would serve first)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.no_handler_status_code = 404
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private() -> Iterator[HTTPServer]:
    """A server on an address the run may not reach: it must never see a request."""
    server = HTTPServer(host="127.0.0.2", port=0, threaded=True)
    server.no_handler_status_code = 200
    server.start()
    yield server
    server.stop()


def _app_site(site: HTTPServer, private: HTTPServer) -> str:
    secret = f"http://127.0.0.2:{private.port}/secret"
    shell = f"""<html><head><title>Harbour News</title>
<link rel="stylesheet" href="/style.css"></head>
<body><noscript>Please enable JavaScript to read this site.</noscript>
<div id="app">Loading</div><img src="/logo.png">
<script>
fetch("/api/story.json").then(r => r.json()).then(d => {{
  document.getElementById("app").innerHTML = "<article><h1>" + d.title + "</h1>" +
    d.paragraphs.map(p => "<p>" + p + "</p>").join("") + "</article>";
}});
fetch("{secret}").catch(() => null);
fetch("/api/hop").catch(() => null);
</script></body></html>"""
    site.expect_request("/story").respond_with_data(shell, content_type="text/html")
    story = {"title": "Council votes to rebuild the pier", "paragraphs": PARAGRAPHS}
    site.expect_request("/api/story.json").respond_with_data(
        json.dumps(story), content_type="application/json"
    )
    site.expect_request("/api/hop").respond_with_data(
        "", status=302, headers={"Location": f"{secret}-behind-a-redirect"}
    )
    return site.url_for("/story")


def _requested(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def test_a_plain_capture_of_an_app_shell_says_render_would_read_it(
    cli: Cli, site: HTTPServer, private: HTTPServer, tmp_path: Path
) -> None:
    url = _app_site(site, private)
    lake = tmp_path / "lake"
    result = cli("ingest", url, "--lake", str(lake), *ALLOW, "--render", "never")
    assert result.returncode == 0, result.stdout
    [(reason,)] = run_query(lake, "select reason from rejects").rows()
    assert reason.startswith("JavaScript required")
    assert "--render auto" in reason


def test_render_auto_reads_the_article_without_a_new_hole(
    cli: Cli, site: HTTPServer, private: HTTPServer, tmp_path: Path
) -> None:
    url = _app_site(site, private)
    lake = tmp_path / "lake"
    listing = tmp_path / "urls.txt"  # a URL list: its pages are fetched once, with no probe
    listing.write_text(url + "\n")
    result = cli("ingest", str(listing), "--lake", str(lake), *ALLOW, "--render", "auto")
    assert result.returncode == 0, result.stdout
    [(title, text)] = run_query(lake, "select title, text from articles").rows()
    assert title == "Council votes to rebuild the pier"
    assert PARAGRAPHS[0] in text
    assert PARAGRAPHS[-1] in text
    assert run_query(lake, "select count(*) from rejects").item() == 0
    # The guard held for every request the browser made: nothing reached the private address,
    # directly or behind a redirect; style sheets and images were never fetched; the page itself
    # was fetched once (the browser was given the plain capture).
    assert private.log == []
    assert _requested(site, "/style.css") == 0
    assert _requested(site, "/logo.png") == 0
    assert _requested(site, "/story") == 1
    assert _requested(site, "/api/story.json") == 1
    assert "2 refused by the network guard" in " ".join(result.stdout.split())
    [(rendered,)] = run_query(lake, "select sum(rendered) from publishers").rows()
    assert rendered == 1  # the outlet's health rows count its rendered pages
    # The raw zone keeps both captures, the rendered one marked; reprocess reads it without a
    # browser (none is findable for it) and gets the same article back.
    raw = pl.read_parquet(lake / "raw" / "*" / "*.parquet").sort("fetched_at")
    headers = raw["headers"].to_list()
    assert len(headers) == 2
    assert "x-newslake-rendered" not in headers[0]
    assert "x-newslake-rendered" in headers[1]
    assert b"Council votes" in raw["body"][1]
    day = raw["fetched_at"][0].date()
    cli.extra["NEWSLAKE_CHROMIUM"] = str(tmp_path / "no-browser")
    again = cli("reprocess", "--from", str(day), "--to", str(day), "--lake", str(lake))
    assert again.returncode == 0, again.stdout
    [(again_text,)] = run_query(lake, "select text from articles").rows()
    assert again_text == text


def test_render_without_a_browser_is_one_error_at_start(
    cli: Cli, site: HTTPServer, private: HTTPServer, tmp_path: Path
) -> None:
    url = _app_site(site, private)
    cli.extra["NEWSLAKE_CHROMIUM"] = str(tmp_path / "no-browser")
    result = cli("ingest", url, "--lake", str(tmp_path / "lake"), *ALLOW, "--render", "auto")
    assert result.returncode == 1
    said = result.stdout.replace("\n", "")
    assert "no-browser" in said
    assert "[fetch] browser or NEWSLAKE_CHROMIUM" in said
    assert site.log == []  # stopped before anything was fetched
