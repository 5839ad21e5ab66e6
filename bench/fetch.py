"""Fetch throughput against local servers with a fixed latency: politeness holds per host while
total throughput grows with the number of hosts.

Run: `.venv/bin/python -m bench.fetch`. Each "host" is a threaded HTTP server on 127.0.0.1 (its
own port, so its own politeness slot) that answers every request after a fixed delay. The
fetcher runs with its real settings except the per-host delay, set to 0.2 s (5 requests per
second per host). Every request's arrival time is logged server-side, and the busiest
one-second window per host is reported next to the configured cap.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.corpus import record
from newslake.tasks.settings import load_settings
from newslake.tasks.web.fetch import fetch_all

LATENCY_S = 0.05
DELAY_S = 0.2
PER_HOST = 20
BODY = b"<html><body>" + b"<p>news</p>" * 200 + b"</body></html>"
ARRIVALS: dict[int, list[float]] = defaultdict(list)
LOCK = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib's name
        with LOCK:
            ARRIVALS[self.server.server_port].append(time.monotonic())
        time.sleep(LATENCY_S)
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        return


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


def main() -> None:
    settings = load_settings()
    options = replace(
        settings.fetch, per_host_delay_s=DELAY_S, allow_networks=("127.0.0.0/8",), concurrency=64
    )
    lines = [
        f"`python -m bench.fetch` — {PER_HOST} pages per host, {LATENCY_S * 1000:.0f} ms server "
        f"latency, per-host delay {DELAY_S} s (cap {1 / DELAY_S:.0f} requests/s per host), "
        "robots.txt fetched once per host.",
        "",
        "| hosts | pages | seconds | pages/s | speed-up vs 1 host "
        "| busiest second, any host (cap) |",
        "|---|---|---|---|---|---|",
    ]
    base_rate = 0.0
    for hosts in (1, 2, 4, 8, 16):
        servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Handler) for _ in range(hosts)]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        ARRIVALS.clear()
        urls = [
            f"http://127.0.0.1:{s.server_port}/article/{n}.html"
            for n in range(PER_HOST)
            for s in servers
        ]
        started = time.perf_counter()
        results = fetch_all(urls, options, max_bytes=1_000_000)
        seconds = time.perf_counter() - started
        for server in servers:
            server.shutdown()
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        rate = len(urls) / seconds
        base_rate = base_rate or rate
        busiest = max(_busiest_second([t for t in ts]) for ts in ARRIVALS.values())
        lines.append(
            f"| {hosts} | {len(urls)} | {seconds:.1f} | {rate:.1f} | {rate / base_rate:.1f}x | "
            f"{busiest} ({1 / DELAY_S:.0f}) |"
        )
        print(lines[-1], flush=True)
    lines.append("")
    lines.append(
        "Arrivals are logged by the servers, robots.txt included; the busiest second is the "
        "largest number of arrivals at one host within any one-second window."
    )
    print("\n".join(lines))
    record("Fetch politeness and throughput (local servers)", "\n".join(lines))


if __name__ == "__main__":
    main()
