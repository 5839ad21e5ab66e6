"""Rendered capture: a page's HTML after its scripts ran, in a headless Chromium.

Opt-in (`--render auto|always`, `[fetch] render`): many outlets now write their articles with
JavaScript, and the plain capture of such a page is an app shell. The browser gets no more
reach than the plain fetcher has:
- the page itself is never fetched twice: the browser's request for it is answered with the
  plain capture's body, so robots.txt and the per-host delay, already applied to that fetch,
  hold for it;
- every other request the page makes (its scripts, its JSON) passes the same SSRF guard as the
  fetcher, on the URL and on every redirect hop: Playwright shows a route handler only a
  redirect chain's first URL, so each request is fetched with redirects off and each hop is
  checked here; service workers (which bypass routing) are blocked, WebSockets closed, and the
  page may not navigate elsewhere;
- images, fonts, media and style sheets are not fetched at all; a page has a time limit and its
  rendered HTML the page size limit.
One browser per process, one context per page; the browser is recycled every
`render_recycle_pages` pages and started again when it dies. A page that hangs or crashes the
browser is a failed render (the caller makes it a reject), never a failed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from newslake.tasks.errors import ConfigError, FetchError
from newslake.tasks.records import RawPage, Reject
from newslake.tasks.settings import FetchOptions, Settings
from newslake.tasks.web.netguard import NetworkGuard

__all__ = [
    "RenderError",
    "RenderStats",
    "Renderer",
    "check_rendering",
    "find_browser",
    "wants_render",
]

_BLOCKED_TYPES = {"image", "font", "media", "stylesheet", "manifest", "texttrack"}
_REDIRECTS = {301, 302, 303, 307, 308}
# Chromium as this machine's closed network wants it: no sandbox as root, no background traffic.
_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]  # fmt: skip
# A page is rendered once its requests have been quiet this long (polled every _POLL_MS).
_QUIET_S = 0.5
_POLL_S = 0.1
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser(options: FetchOptions) -> str:
    """The Chromium to drive: `[fetch] browser`, else NEWSLAKE_CHROMIUM, else one on PATH."""
    named = options.browser or os.environ.get("NEWSLAKE_CHROMIUM", "")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            msg = f"the browser {named!r} ([fetch] browser or NEWSLAKE_CHROMIUM) is not a program"
            raise ConfigError(msg)
        return named
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    msg = (
        "--render needs a Chromium or Chrome: run `make browser` (Debian's chromium), or name "
        "one with [fetch] browser or NEWSLAKE_CHROMIUM"
    )
    raise ConfigError(msg)


def check_rendering(options: FetchOptions) -> str:
    """At the start of a run that renders: the browser and the Python driver, or one error."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        msg = "--render needs Playwright: pip install 'newslake[render]'"
        raise ConfigError(msg) from exc
    return find_browser(options)


def wants_render(page: RawPage, settings: Settings) -> bool:
    """Whether the run renders this fetched page: every page with `always`; with `auto`, a page
    whose plain capture is a JavaScript shell or gives no article (found by extracting it, in
    the fetching process, the way a worker would)."""
    if settings.fetch.render == "always":
        return True
    if settings.fetch.render != "auto":
        return False
    from newslake.tasks.pages.batch import process_page

    outcome = process_page(page, settings, "render-check")
    if not isinstance(outcome, Reject):
        return False
    return outcome.reason.startswith(("JavaScript required", "no main text"))


@dataclass(kw_only=True)
class RenderStats:
    """What the browser was allowed and refused, for the run's report and the tests."""

    pages: int = 0
    failed: int = 0
    requests: int = 0
    blocked_types: int = 0
    refused: int = 0
    restarts: int = 0


class RenderError(Exception):
    """The page could not be rendered (a time-out, a crash, a refused navigation)."""


class Renderer:
    """A headless Chromium for one process's pages: `render(url, body)` gives the HTML after
    the page's scripts ran.

    Playwright's async API on an event loop of the renderer's own: its route handlers run
    concurrently with the page, so a sub-request the guard lets through is fetched while the
    page waits for it (the sync API's handlers stall until the caller's wait ends).
    """

    def __init__(self, options: FetchOptions, max_bytes: int) -> None:
        self.options = options
        self.max_bytes = max_bytes
        self.executable = check_rendering(options)
        self.guard = NetworkGuard(options.allow_networks)
        self.stats = RenderStats()
        self._loop = asyncio.new_event_loop()
        self._playwright: Any = None
        self._browser: Any = None
        self._since_start = 0

    async def _start(self) -> Any:
        from playwright.async_api import async_playwright

        if self._playwright is None:
            self._playwright = await async_playwright().start()
        if self._browser is None or not self._browser.is_connected():
            if self._browser is not None:
                self.stats.restarts += 1
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, args=_ARGS, headless=True
            )
            self._since_start = 0
        return self._browser

    def _route(self, page_url: str, body: bytes, content_type: str) -> Any:
        async def handle(route: Any) -> None:
            request = route.request
            self.stats.requests += 1
            is_page = request.url.split("#")[0] == page_url.split("#")[0]
            if is_page and request.resource_type == "document":
                await route.fulfill(status=200, body=body, headers={"content-type": content_type})
                return
            if request.resource_type in _BLOCKED_TYPES:
                self.stats.blocked_types += 1
                await route.abort("blockedbyclient")
                return
            if request.is_navigation_request():  # the page may not take the browser elsewhere
                self.stats.refused += 1
                await route.abort("blockedbyclient")
                return
            await self._fetch_checked(route, request.url)

        return handle

    async def _fetch_checked(self, route: Any, url: str) -> None:
        """Fetch a sub-request hop by hop, checking the guard before each hop."""
        for _ in range(self.options.max_redirects + 1):
            if urlsplit(url).scheme not in {"data", "blob"}:
                try:
                    await self.guard.check(url)
                except FetchError:
                    self.stats.refused += 1
                    await route.abort("blockedbyclient")
                    return
            try:
                response = await route.fetch(
                    url=url, max_redirects=0, timeout=self.options.timeout_s * 1000
                )
            except Exception:  # noqa: BLE001 - a sub-request that fails is the page's problem
                with contextlib.suppress(Exception):
                    await route.abort("failed")
                return
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                await route.fulfill(response=response)
                return
            url = urljoin(url, location)
        self.stats.refused += 1
        await route.abort("blockedbyclient")  # a chain longer than the fetcher allows

    def render(self, url: str, body: bytes, charset: str | None) -> str:
        """The page's HTML after its scripts ran; RenderError when it cannot be had."""
        self.stats.pages += 1
        try:
            html = self._loop.run_until_complete(self._render(url, body, charset))
        except Exception as exc:
            self.stats.failed += 1
            first = str(exc).splitlines()[0] if str(exc) else ""
            msg = f"{type(exc).__name__}: {first}"
            raise RenderError(msg) from exc
        if len(html.encode("utf-8", "replace")) > self.max_bytes:
            self.stats.failed += 1
            msg = f"the rendered page is larger than the limit of {self.max_bytes:,} bytes"
            raise RenderError(msg)
        return html

    async def _render(self, url: str, body: bytes, charset: str | None) -> str:
        if self._since_start >= self.options.render_recycle_pages:
            await self._stop_browser()
        context = None
        limit = self.options.render_timeout_s
        try:
            browser = await self._start()
            self._since_start += 1
            context = await browser.new_context(
                service_workers="block", user_agent=self.options.user_agent
            )
            await context.route_web_socket("**/*", lambda ws: ws.close())
            await context.route(
                "**/*", self._route(url, body, f"text/html; charset={charset or 'utf-8'}")
            )
            page = await context.new_page()
            inflight = [0]
            page.on("request", lambda _: inflight.__setitem__(0, inflight[0] + 1))
            for done in ("requestfinished", "requestfailed"):
                page.on(done, lambda _: inflight.__setitem__(0, inflight[0] - 1))
            started = time.monotonic()
            await page.goto(url, wait_until="load", timeout=limit * 1000)
            quiet_since = time.monotonic()
            while time.monotonic() - started < limit:  # until its scripts' requests are done
                await asyncio.sleep(_POLL_S)
                if inflight[0] > 0:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= _QUIET_S:
                    break
            return str(await page.content())
        except Exception:
            if self._browser is not None and not self._browser.is_connected():
                self._browser = None  # it died: the next page starts a fresh one
            raise
        finally:
            if context is not None:
                with contextlib.suppress(Exception):
                    await context.unroute_all(behavior="ignoreErrors")
                    await context.close()

    async def _stop_browser(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
            self._browser = None

    def close(self) -> None:
        """Stop the browser and Playwright's driver: no browser process outlives the run."""
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(self._stop_browser())
            if self._playwright is not None:
                self._loop.run_until_complete(self._playwright.stop())
        self._playwright = None
        self._loop.close()
