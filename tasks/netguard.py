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

from tasks.errors import FetchError

__all__ = ["NetworkGuard"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class NetworkGuard:
    """Checks that a URL is http(s) and resolves only to public or explicitly allowed addresses."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        try:
            self.allowed = [ipaddress.ip_network(n, strict=False) for n in allow]
        except ValueError as exc:
            msg = f"fetch.allow_networks: {exc}"
            raise ValueError(msg) from exc

    def _refused(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed):
            return False
        return not address.is_global or address.is_multicast

    async def check(self, url: str) -> None:
        """Raise FetchError unless every address `url`'s host resolves to may be fetched."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            msg = f"refused: scheme {parts.scheme!r} is not http or https"
            raise FetchError(msg, url=url)
        host = parts.hostname
        if not host:
            msg = "refused: the URL has no host"
            raise FetchError(msg, url=url)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, parts.port or 443, type=socket.SOCK_STREAM
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
