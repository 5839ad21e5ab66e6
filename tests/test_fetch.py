"""The fetcher against a real HTTP server on 127.0.0.1: politeness, retries, limits, the guard."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from dataclasses import replace

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from newslake.tasks.settings import FetchOptions
from newslake.tasks.web.fetch import Fetcher, FetchResult, fetch_all
from tests.conftest import FETCH_OPTIONS, SAMPLES

PAGE = gzip.decompress((SAMPLES / "html" / "salon.com.emissions.html.gz").read_bytes())


def _fetch(
    url: str, options: FetchOptions = FETCH_OPTIONS, max_bytes: int = 5_000_000, **kw: str
) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(options, max_bytes=max_bytes) as fetcher:
            return await fetcher.fetch(url, **kw)

    return asyncio.run(run())


def _html(server: HTTPServer, path: str, body: bytes = PAGE) -> None:
    server.expect_request(path).respond_with_data(body, content_type="text/html; charset=utf-8")


def test_fetches_a_page_with_headers(httpserver: HTTPServer) -> None:
    _html(httpserver, "/article")
    result = _fetch(httpserver.url_for("/article"))
    assert result.ok
    assert result.body == PAGE
    assert result.status == 200
    assert result.headers["content-type"].startswith("text/html")


def test_robots_disallow_and_crawl_delay(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.4\n", content_type="text/plain"
    )
    _html(httpserver, "/private/a")
    _html(httpserver, "/public/a")
    _html(httpserver, "/public/b")

    async def run() -> list[tuple[FetchResult, float]]:
        async with Fetcher(FETCH_OPTIONS, max_bytes=5_000_000) as fetcher:
            out = []
            for path in ("/private/a", "/public/a", "/public/b"):
                result = await fetcher.fetch(httpserver.url_for(path))
                out.append((result, time.monotonic()))
            return out

    (private, _), (first, t1), (second, t2) = asyncio.run(run())
    assert not private.ok
    assert "robots.txt" in (private.error or "")
    assert first.ok
    assert second.ok
    assert t2 - t1 >= 0.35  # Crawl-delay spaced the two requests
    assert [r.path for r, _ in httpserver.log].count("/private/a") == 0


def test_redirect_chain_is_followed_and_recorded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/moved"}
    )
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": "/final"}
    )
    _html(httpserver, "/final")
    result = _fetch(httpserver.url_for("/old"))
    assert result.ok
    assert result.final_url == httpserver.url_for("/final")
    assert result.redirects == (httpserver.url_for("/moved"), httpserver.url_for("/final"))


def test_redirect_loop_is_rejected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data("", status=302, headers={"Location": "/y"})
    httpserver.expect_request("/y").respond_with_data("", status=302, headers={"Location": "/x"})
    result = _fetch(httpserver.url_for("/x"))
    assert "redirect loop" in (result.error or "")


def test_404_is_final_and_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    result = _fetch(httpserver.url_for("/gone"))
    assert result.status == 404
    assert not result.transient
    assert len([r for r, _ in httpserver.log if r.path == "/gone"]) == 1


def test_500_then_200_is_retried(httpserver: HTTPServer) -> None:
    calls = {"n": 0}

    def flaky(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("boom", status=500)
        return Response(PAGE, content_type="text/html")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    result = _fetch(httpserver.url_for("/flaky"))
    assert result.ok
    assert calls["n"] == 2


def test_429_honours_retry_after(httpserver: HTTPServer) -> None:
    seen: list[float] = []

    def limited(request: Request) -> Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(PAGE, content_type="text/html")

    httpserver.expect_request("/limited").respond_with_handler(limited)
    result = _fetch(httpserver.url_for("/limited"))
    assert result.ok
    assert seen[1] - seen[0] >= 0.95


def test_retry_after_longer_than_allowed_is_not_waited_for(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/later").respond_with_data(
        "", status=503, headers={"Retry-After": "3600"}
    )
    result = _fetch(httpserver.url_for("/later"))
    assert result.transient
    assert "asks to wait" in (result.error or "")


def test_slow_server_hits_the_timeout(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(PAGE, content_type="text/html")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    options = replace(FETCH_OPTIONS, timeout_s=0.3, total_timeout_s=0.5, max_retries=0)
    result = _fetch(httpserver.url_for("/slow"), options)
    assert not result.ok  # the page would have come at 1.5 s: the 0.5 s limit cut it off
    assert result.transient
    assert result.error


def test_oversized_body_is_cut_off(httpserver: HTTPServer) -> None:
    _html(httpserver, "/big", b"<p>" + b"x" * 300_000 + b"</p>")
    result = _fetch(httpserver.url_for("/big"), max_bytes=100_000)
    assert "larger than the limit" in (result.error or "")


def test_non_html_content_type_is_rejected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/file.pdf").respond_with_data(
        b"%PDF-1.4", content_type="application/pdf"
    )
    result = _fetch(httpserver.url_for("/file.pdf"))
    assert "not an HTML page" in (result.error or "")


def test_conditional_refetch_answered_by_304(httpserver: HTTPServer) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(PAGE, content_type="text/html", headers={"ETag": '"v1"'})

    httpserver.expect_request("/cond").respond_with_handler(conditional)
    first = _fetch(httpserver.url_for("/cond"))
    again = _fetch(httpserver.url_for("/cond"), etag=first.headers["etag"])
    assert first.ok
    assert again.not_modified
    assert again.body is None


def test_private_addresses_are_refused_by_default(httpserver: HTTPServer) -> None:
    _html(httpserver, "/article")
    result = _fetch(httpserver.url_for("/article"), replace(FETCH_OPTIONS, allow_networks=()))
    assert "refused" in (result.error or "")
    assert "private or reserved" in (result.error or "")
    assert not httpserver.log


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"]
)
def test_other_schemes_and_metadata_address_are_refused(url: str) -> None:
    result = _fetch(url, replace(FETCH_OPTIONS, allow_networks=()))
    assert "refused" in (result.error or "")


def test_redirect_to_a_private_address_is_refused(httpserver: HTTPServer) -> None:
    port = httpserver.port
    httpserver.expect_request("/hop").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.2:{port}/inner"}
    )
    options = replace(FETCH_OPTIONS, allow_networks=("127.0.0.1/32",))
    result = _fetch(httpserver.url_for("/hop"), options)
    assert "refused" in (result.error or "")
    assert "127.0.0.2" in (result.error or "")


def test_a_name_that_resolves_to_loopback_is_refused(httpserver: HTTPServer) -> None:
    _html(httpserver, "/article")
    result = _fetch(
        f"http://localhost:{httpserver.port}/article", replace(FETCH_OPTIONS, allow_networks=())
    )
    assert "refused: localhost resolves to" in (result.error or "")
    assert not httpserver.log


def test_dns_rebinding_cannot_reach_a_private_address(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name answers a public address to the guard's first look and loopback afterwards:
    the connection resolves once more, is checked again, and is refused."""
    _html(httpserver, "/article")
    real = asyncio.BaseEventLoop.getaddrinfo
    answers = {"count": 0}

    async def rebinding(self, host, port, *args, **kwargs):
        if host != "rebind.test":
            return await real(self, host, port, *args, **kwargs)
        answers["count"] += 1
        address = "93.184.216.34" if answers["count"] == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", rebinding)
    options = replace(FETCH_OPTIONS, allow_networks=(), obey_robots=False, max_retries=0)
    result = _fetch(f"http://rebind.test:{httpserver.port}/article", options)
    assert answers["count"] >= 2
    assert "refused: rebind.test resolves to 127.0.0.1" in (result.error or "")
    assert not httpserver.log


def test_a_slow_host_does_not_hold_up_the_others() -> None:
    slow_host, fast_host = (
        HTTPServer(host="127.0.0.1", port=0),
        HTTPServer(host="127.0.0.1", port=0),
    )

    def slow(request: Request) -> Response:
        time.sleep(2.0)
        return Response(PAGE, content_type="text/html")

    slow_host.expect_request("/slow").respond_with_handler(slow)
    _html(fast_host, "/fast")
    for server in (slow_host, fast_host):
        server.no_handler_status_code = 404
        server.start()
    try:
        urls = [slow_host.url_for("/slow"), fast_host.url_for("/fast")]
        slow_result, fast_result = fetch_all(
            urls,
            # The read timeout is well above the slow host's delay, so a busy machine still waits.
            replace(FETCH_OPTIONS, max_retries=0, timeout_s=10.0, total_timeout_s=20.0),
            max_bytes=5_000_000,
        )
    finally:
        slow_host.stop()
        fast_host.stop()
    assert fast_result.ok
    assert slow_result.ok
    assert (slow_result.fetched_at - fast_result.fetched_at).total_seconds() > 1.5
