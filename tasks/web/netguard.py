"""The fetcher's guard against server-side request forgery.

A URL from a feed or a sitemap is untrusted input: pointed at `http://169.254.169.254/` or
`http://localhost:8080/admin` it would make newslake read the operator's own network. Before
every request (and every redirect hop) the host is resolved and each address checked; private,
loopback, link-local, multicast, reserved and unspecified addresses are refused unless the user
allowed their network (`fetch.allow_networks`, `--allow-network`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
from httpcore._backends.base import SOCKET_OPTION

from newslake.tasks.errors import ConfigError, FetchError

__all__ = ["GuardedBackend", "NetworkGuard"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkGuard:
    """Checks that a URL is http(s) and resolves only to public or explicitly allowed addresses."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        try:
            self.allowed = [ipaddress.ip_network(n, strict=False) for n in allow]
        except ValueError as exc:
            msg = f"fetch.allow_networks: {exc}"
            raise ConfigError(msg) from exc

    def _refused(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed):
            return False
        return not address.is_global or address.is_multicast

    async def check(self, url: str) -> None:
        """Raise FetchError unless `url` is http(s) and its host resolves only to addresses that
        may be fetched. A first, early check; `GuardedBackend` checks again at connect time."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            msg = f"refused: scheme {parts.scheme!r} is not http or https"
            raise FetchError(msg, url=url)
        host = parts.hostname
        if not host:
            msg = "refused: the URL has no host"
            raise FetchError(msg, url=url)
        await self.resolve(host, parts.port or 443, url=url)

    async def resolve(self, host: str, port: int, *, url: str = "") -> list[IPAddress]:
        """The addresses of `host`, or FetchError if any of them may not be fetched."""
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                msg = f"cannot resolve host {host!r}: {exc.strerror or exc}"
                raise FetchError(msg, url=url, transient=True) from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for address in addresses:
            if self._refused(address):
                msg = (
                    f"refused: {host} resolves to {address}, a private or reserved address "
                    "(allow its network with --allow-network if this is intended)"
                )
                raise FetchError(msg, url=url)
        return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard inside: resolve, check, connect to the checked
    address. Without it the HTTP client would resolve the name a second time when it connects,
    and a DNS answer that changed in between (DNS rebinding) could reach a private address; it
    also covers connections the client opens by itself (robots.txt redirects)."""

    def __init__(self, guard: NetworkGuard) -> None:
        self.guard = guard
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable checked address of `host` (TLS still names `host`)."""
        last: Exception | None = None
        for address in await self.guard.resolve(host, port):
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: the fetcher reaches hosts, not local sockets."""
        msg = "refused: unix sockets are not fetched"
        raise httpcore.ConnectError(msg)

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        await self.inner.sleep(seconds)
