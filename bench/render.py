"""Rendered capture against the plain fetch, on local pages: pages/s and the browser's memory.

Run: `.venv/bin/python -m bench.render [--pages N]`. A threaded HTTP server on 127.0.0.1 serves
N app-shell pages, each writing its article from a JSON request (as client-rendered outlets
do). Side by side in one run: the plain fetch of the N pages (newslake's fetcher, per-host delay
0), and the same pages rendered by one `Renderer` (one browser, a context per page, its real
settings). The browser's memory is the peak RSS of its process tree while rendering, sampled.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil

from bench.corpus import record
from newslake.tasks.settings import load_settings
from newslake.tasks.web.fetch import fetch_all
from newslake.tasks.web.render import Renderer

_SHELL = b"""<html><head><title>Harbour News</title></head><body>
<noscript>Please enable JavaScript.</noscript><div id="app">Loading</div><script>
fetch(location.pathname + ".json").then(r => r.json()).then(d => {
  document.getElementById("app").innerHTML = "<article>" +
    d.paragraphs.map(p => "<p>" + p + "</p>").join("") + "</article>";
});</script></body></html>"""
_STORY = json.dumps(
    {"paragraphs": [f"The council met again on the harbour plan, point {n}." for n in range(40)]}
).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib's name
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        body, kind = (
            (_STORY, "application/json") if self.path.endswith(".json") else (_SHELL, "text/html")
        )
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _tree_rss_mib(pid: int) -> float:
    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            if "chrom" in proc.name().lower():
                total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    urls = [f"{base}/story/{n}" for n in range(args.pages)]
    settings = load_settings()
    options = replace(settings.fetch, per_host_delay_s=0.0, allow_networks=("127.0.0.1/32",))
    started = time.perf_counter()
    results = fetch_all(urls, options, max_bytes=settings.limits.max_page_bytes)
    plain_s = time.perf_counter() - started
    renderer = Renderer(options, settings.limits.max_page_bytes)
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        import os

        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_mib(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    written = 0
    for result in results:
        html = renderer.render(result.url, result.body or b"", "utf-8")
        written += "council met again" in html
    render_s = time.perf_counter() - started
    stop.set()
    sampler.join()
    renderer.close()
    server.shutdown()
    n = len(urls)
    lines = [
        f"`python -m bench.render --pages {n}`: {n} local app-shell pages, one run, side by side.",
        "",
        "| | seconds | pages/s |",
        "|---|---|---|",
        f"| plain fetch (newslake's fetcher, delay 0) | {plain_s:.2f} | {n / plain_s:.1f} |",
        f"| rendered (one browser, a context per page) | {render_s:.2f} | {n / render_s:.1f} |",
        "",
        f"Rendering costs {render_s / plain_s:.0f}x the plain fetch per page here; the article "
        f"was written in by script on {written} of {n} rendered pages. The browser's peak RSS "
        f"(RSS summed over its processes, so shared pages count once per process; sampled every"
        f" 0.2 s) was {peak[0]:.0f} MiB for one worker.",
    ]
    print("\n".join(lines))
    record("Rendered capture", "\n".join(lines))


if __name__ == "__main__":
    main()
