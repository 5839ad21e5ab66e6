"""Fetch pages over HTTP, politely: httpx with per-host pacing, robots.txt and retries.

One `Fetcher` serves a whole run. Per host it keeps a minimum delay between request starts
(raised by robots.txt's Crawl-delay), a cap on requests in flight, and the parsed robots.txt,
fetched once. Redirects are followed by hand so that every hop passes the network guard and
robots.txt. Transient failures (connection errors, timeouts, 429, 5xx) are retried with
exponential backoff and jitter, honouring Retry-After; other 4xx are final. Bodies are read as a
stream and abandoned past the size limit. A fetch never raises: it returns a FetchResult that
is either a page or a reason.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from newslake.tasks.errors import FetchError, RobotsUnreachable
from newslake.tasks.settings import FetchOptions
from newslake.tasks.web.netguard import GuardedBackend, NetworkGuard

__all__ = ["FetchResult", "Fetcher", "fetch_all"]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = {301, 302, 303, 307, 308}
# Requests are spaced from their start, but a server sees their arrival: a first request slowed
# by its TCP (and TLS) handshake arrives late and the next one, on a warm connection, on time.
# A 10% margin keeps the rate the server sees under the cap (bench/fetch.py measures it).
_PACE_MARGIN = 1.1


@dataclass(frozen=True, kw_only=True)
class FetchResult:
    """The outcome of fetching one URL: a body, a 304, or an error with its reason."""

    url: str
    final_url: str
    status: int | None
    fetched_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    redirects: tuple[str, ...] = ()
    error: str | None = None
    transient: bool = False

    @property
    def ok(self) -> bool:
        """True when the result carries an HTML body to extract."""
        return self.error is None and self.body is not None

    @property
    def not_modified(self) -> bool:
        """True when a conditional request was answered 304: the stored copy is current."""
        return self.status == 304

    @property
    def host(self) -> str:
        """The requested URL's host, for per-host counts."""
        return urlsplit(self.url).hostname or ""


class _Retry(Exception):
    def __init__(self, reason: str, status: int | None = None, after: float | None = None) -> None:
        self.reason, self.status, self.after = reason, status, after
        super().__init__(reason)


@dataclass
class _Host:
    delay: float
    slots: asyncio.Semaphore
    pace: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    robots: Protego | None = None
    robots_error: str | None = None
    robots_loaded: asyncio.Event = field(default_factory=asyncio.Event)
    robots_started: bool = False


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class Fetcher:
    """A polite HTTP client for one run (use `async with`)."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.options = options
        self.max_bytes = max_bytes
        self.guard = NetworkGuard(options.allow_networks)
        self._transport = transport
        self._hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(options.concurrency)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        limits = httpx.Limits(max_connections=self.options.concurrency)
        transport = self._transport
        if transport is None:
            transport = httpx.AsyncHTTPTransport(http2=True, limits=limits)
            # httpx takes no network backend; its pool (httpcore) does. Every connection then
            # resolves, checks and connects in one step (tasks/web/netguard.py, GuardedBackend).
            transport._pool._network_backend = GuardedBackend(self.guard)
        self._client = httpx.AsyncClient(
            http2=True,
            follow_redirects=False,
            timeout=httpx.Timeout(self.options.timeout_s),
            headers={"User-Agent": self.options.user_agent},
            limits=limits,
            transport=transport,
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _host(self, url: str) -> _Host:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}".lower()
        if key not in self._hosts:
            self._hosts[key] = _Host(
                delay=self.options.per_host_delay_s,
                slots=asyncio.Semaphore(self.options.per_host_concurrency),
            )
        return self._hosts[key]

    async def _pace(self, host: _Host) -> None:
        """Wait for the host's next free start time, then book the one after it."""
        async with host.pace:
            wait = host.next_start - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            host.next_start = time.monotonic() + host.delay * _PACE_MARGIN

    async def _robots(self, url: str, host: _Host) -> None:
        """Fetch and parse the host's robots.txt once; later callers wait for the first."""
        if host.robots_started:
            await host.robots_loaded.wait()
            return
        host.robots_started = True
        robots_url = urljoin(url, "/robots.txt")
        try:
            status, text = await self._get_text(robots_url, host)
            if status == 200:
                host.robots = Protego.parse(text)
                crawl_delay = host.robots.crawl_delay(self.options.user_agent)
                if crawl_delay:
                    host.delay = max(host.delay, float(crawl_delay))
            elif status >= 500:
                # RFC 9309: an unreachable robots.txt means the whole site is disallowed.
                host.robots_error = f"robots.txt answered HTTP {status}: the site is off limits"
        except (httpx.HTTPError, TimeoutError, FetchError) as exc:
            host.robots_error = f"robots.txt could not be fetched ({exc!r}): the site is off limits"
        finally:
            host.robots_loaded.set()

    async def _get_text(self, url: str, host: _Host) -> tuple[int, str]:
        assert self._client is not None
        await self.guard.check(url)
        await self._pace(host)
        async with asyncio.timeout(self.options.timeout_s):
            response = await self._client.get(url, follow_redirects=True)
        return response.status_code, response.text[: self.max_bytes]

    async def _allowed(self, url: str, host: _Host) -> None:
        if not self.options.obey_robots:
            return
        await self._robots(url, host)
        if host.robots_error:
            raise RobotsUnreachable(host.robots_error, url=url)
        if host.robots is not None and not host.robots.can_fetch(url, self.options.user_agent):
            msg = "disallowed by the site's robots.txt"
            raise FetchError(msg, url=url)

    async def _once(self, url: str, conditional: dict[str, str], html_only: bool) -> FetchResult:
        """One attempt: follow redirects hop by hop, then read the body within the limits."""
        assert self._client is not None
        current, chain = url, [url]
        for _hop in range(self.options.max_redirects + 1):
            await self.guard.check(current)
            host = self._host(current)
            await self._allowed(current, host)
            await self._pace(host)
            async with host.slots, self._client.stream("GET", current, headers=conditional) as resp:
                status = resp.status_code
                location = resp.headers.get("location")
                if status in _REDIRECTS and location:
                    current = urljoin(current, location)
                    if current in chain:
                        msg = f"redirect loop: {' -> '.join([*chain, current])}"
                        raise FetchError(msg, url=url, status=status)
                    chain.append(current)
                    continue
                if status == 429 or status >= 500:
                    after = _retry_after(resp.headers.get("retry-after"))
                    msg = f"HTTP {status}"
                    raise _Retry(msg, status, after)
                fetched = FetchResult(
                    url=url,
                    final_url=current,
                    status=status,
                    fetched_at=datetime.now(UTC),
                    headers=dict(resp.headers),
                    redirects=tuple(chain[1:]),
                )
                if status == 304:
                    return fetched
                if status >= 400:
                    msg = f"HTTP {status} {resp.reason_phrase}".strip()
                    raise FetchError(msg, url=url, status=status)
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if html_only and ctype and ctype not in _HTML_TYPES:
                    msg = f"not an HTML page (content type {ctype!r})"
                    raise FetchError(msg, url=url, status=status)
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        msg = f"the response is larger than the limit of {self.max_bytes:,} bytes"
                        raise FetchError(msg, url=url, status=status)
                return replace(fetched, body=bytes(body))
        msg = f"more than {self.options.max_redirects} redirects"
        raise FetchError(msg, url=url)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        html_only: bool = True,
    ) -> FetchResult:
        """Fetch `url` with retries; never raises, the result says what happened."""
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        options = self.options
        failure: FetchError
        for attempt in range(options.max_retries + 1):
            try:
                async with self._slots, asyncio.timeout(options.total_timeout_s):
                    return await self._once(url, conditional, html_only)
            except FetchError as exc:
                failure = exc
                if not exc.transient or isinstance(exc, RobotsUnreachable):
                    break
                wait = None
            except _Retry as exc:
                failure = FetchError(exc.reason, url=url, status=exc.status, transient=True)
                wait = exc.after
            except TimeoutError:
                failure = FetchError(
                    f"no complete response within {options.total_timeout_s:g} s",
                    url=url,
                    transient=True,
                )
                wait = None
            except httpx.DecodingError as exc:
                failure = FetchError(f"the response's compression is corrupt: {exc}", url=url)
                break
            except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                failure = FetchError(f"{type(exc).__name__}: {exc}", url=url, transient=True)
                wait = None
            if attempt == options.max_retries:
                break
            delay = wait if wait is not None else options.backoff_s * 2**attempt
            if delay > options.max_retry_after_s:
                failure = FetchError(
                    f"{failure.reason}; the server asks to wait {delay:g} s, more than "
                    f"fetch.max_retry_after_s",
                    url=url,
                    status=failure.status,
                    transient=True,
                )
                break
            await asyncio.sleep(delay * (1 + random.random() / 4) if wait is None else delay)
        return FetchResult(
            url=url,
            final_url=url,
            status=failure.status,
            fetched_at=datetime.now(UTC),
            error=failure.reason,
            transient=failure.transient,
        )


async def _fetch_all(
    urls: Iterable[str],
    options: FetchOptions,
    max_bytes: int,
    validators: dict[str, tuple[str | None, str | None]],
) -> list[FetchResult]:
    async with Fetcher(options, max_bytes=max_bytes) as fetcher:
        jobs = [
            fetcher.fetch(
                u,
                etag=validators.get(u, (None, None))[0],
                last_modified=validators.get(u, (None, None))[1],
            )
            for u in urls
        ]
        return list(await asyncio.gather(*jobs))


def fetch_all(
    urls: Iterable[str],
    options: FetchOptions,
    *,
    max_bytes: int,
    validators: dict[str, tuple[str | None, str | None]] | None = None,
) -> list[FetchResult]:
    """Fetch many URLs concurrently (politely per host) from synchronous code.

    Args:
        urls: the URLs to fetch.
        options: the fetch settings.
        max_bytes: the largest body accepted.
        validators: per URL, the (ETag, Last-Modified) of the stored copy, for conditional requests.
    """
    return asyncio.run(_fetch_all(urls, options, max_bytes, validators or {}))
