"""A deliberately broken HTTP/1.1 server on 127.0.0.1, for the fetch-fault tests.

pytest-httpserver (werkzeug) always answers well-formed HTTP; real sites drop connections,
stall half-way through a body, send garbage gzip and lie about lengths and types. This server
does each of those on its own path, written at the socket level, and records when each request
arrived and how many connections were open at once, so the tests can check politeness too.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

PAGE = (
    b"<html><head><title>Fault test</title></head><body><article><h1>Harbour council</h1><p>"
    + b" ".join(
        b"The harbour council met again and voted on the pier, item %d." % i for i in range(40)
    )
    + b"</p></article></body></html>"
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


async def _ok(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    writer.write(_head("200 OK", {"Content-Type": "text/html", "Content-Length": str(len(PAGE))}))
    writer.write(PAGE)


async def _drop(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Close the connection without a byte of response."""


async def _reset(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Half a status line, then close."""
    writer.write(b"HTTP/1.1 20")


async def _stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Headers and the first part of the body, then silence until the client gives up."""
    writer.write(_head("200 OK", {"Content-Type": "text/html", "Content-Length": "100000"}))
    writer.write(PAGE[:500])
    await writer.drain()
    await reader.read()


async def _short(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Promise 100,000 bytes, send a few, close."""
    writer.write(_head("200 OK", {"Content-Type": "text/html", "Content-Length": "100000"}))
    writer.write(PAGE[:800])


async def _long(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Promise 40 bytes, send the whole page."""
    writer.write(_head("200 OK", {"Content-Type": "text/html", "Content-Length": "40"}))
    writer.write(PAGE)


async def _bad_gzip(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    body = b"\x1f\x8b\x08\x00garbage, not a deflate stream" * 10
    headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
    writer.write(_head("200 OK", {**headers, "Content-Length": str(len(body))}))
    writer.write(body)


async def _bad_deflate(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    body = zlib.compress(PAGE)[:-30]  # truncated stream
    headers = {"Content-Type": "text/html", "Content-Encoding": "deflate"}
    writer.write(_head("200 OK", {**headers, "Content-Length": str(len(body))}))
    writer.write(body)


async def _binary_as_html(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Says text/html, sends a PNG."""
    body = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    writer.write(_head("200 OK", {"Content-Type": "text/html", "Content-Length": str(len(body))}))
    writer.write(body)


async def _html_as_image(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    """Says image/jpeg, sends HTML: refused by type, as a crawler should."""
    writer.write(_head("200 OK", {"Content-Type": "image/jpeg", "Content-Length": str(len(PAGE))}))
    writer.write(PAGE)


async def _flip(_: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int) -> None:
    """500 on odd requests, 200 on even ones."""
    if count % 2:
        writer.write(_head("500 Internal Server Error", {"Content-Length": "0"}))
    else:
        await _ok(_, writer, count)


async def _garbage_head(_: asyncio.StreamReader, writer: asyncio.StreamWriter, __: int) -> None:
    writer.write(b"\x00\xff NOT HTTP AT ALL \r\n\r\n")


HANDLERS: dict[str, Handler] = {
    "/ok": _ok,
    "/drop": _drop,
    "/reset": _reset,
    "/stall": _stall,
    "/short": _short,
    "/long": _long,
    "/bad-gzip": _bad_gzip,
    "/bad-deflate": _bad_deflate,
    "/binary-as-html": _binary_as_html,
    "/html-as-image": _html_as_image,
    "/flip": _flip,
    "/garbage-head": _garbage_head,
}


@dataclass
class FaultServer:
    """The server, running on its own thread and event loop."""

    host: str = "127.0.0.1"
    port: int = 0
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    max_open: int = 0
    _open: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._open += 1
        self.max_open = max(self.max_open, self._open)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode().split("?")[0]
            path = "/" + path.lstrip("/").split("/", 1)[-1] if path.count("/") > 1 else path
            self.arrivals.append((time.monotonic(), path))
            self._counts[path] = self._counts.get(path, 0) + 1
            handler = HANDLERS.get(path)
            if handler is None:
                writer.write(_head("404 Not Found", {"Content-Length": "0"}))
            else:
                await handler(reader, writer, self._counts[path])
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._open -= 1
            writer.close()
            self._tasks.discard(task)

    def start(self) -> FaultServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(asyncio.start_server(self._serve, self.host, 0))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    async def _shutdown(self) -> None:
        """Stop accepting, end every connection still open (a stalled one too)."""
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
