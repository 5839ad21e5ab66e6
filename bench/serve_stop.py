"""How long `newslake serve` takes to stop, the ways services are stopped.

Run: `.venv/bin/python -m bench.serve_stop [--trials 2]`. For each way — SIGINT or SIGTERM, to
serve's pid or to its whole process group (a terminal's Ctrl-C, systemd's control-group kill),
while idle or while a scheduled ingest of 300 pages of ../shared/corpus/pages runs (the bundled
samples when the corpus is absent) — it starts serve with no Prefect server running, sends the
signal and reports the seconds to exit, the exit code, whether the output holds a traceback, and
the processes left. tests/test_serve.py asserts the same within a generous bound; the figure
against the 10 s target is this script's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
NEWSLAKE = Path(sys.executable).with_name("newslake")
CORPUS = Path(os.environ.get("NEWSLAKE_CORPUS", ROOT.parent / "shared" / "corpus"))
_MARK = "NEWSLAKE_BENCH_MARK"


def _pages(work: Path) -> Path:
    """300 corpus pages (links), else the bundled samples."""
    source = CORPUS / "pages" / "html"
    if not source.exists():
        return ROOT / "data" / "samples"
    folder = work / "pages"
    folder.mkdir()
    for page in sorted(source.iterdir())[:300]:
        (folder / page.name).symlink_to(page)
    return folder


def _left(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"{_MARK}={marker}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                    found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return found


def _once(work: Path, pages: Path, signum: int, group: bool, mid_run: bool) -> dict[str, object]:
    config = work / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "schedules.toml").write_text(
        f'[[schedule]]\nname = "hourly"\ncron = "0 * * * *"\ninputs = ["{pages}"]\n'
        f'lake = "{work / "lake"}"\n'
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api, marker = f"http://127.0.0.1:{port}/api", uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")} | {
        "NEWSLAKE_CONFIG": str(config), "PREFECT_HOME": str(work / "prefect"), _MARK: marker,
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }  # fmt: skip
    serve = subprocess.Popen(
        [str(NEWSLAKE), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deployments: list[dict[str, object]] = []
        while len(deployments) < 3:
            time.sleep(1)
            try:
                deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()
            except httpx.HTTPError:
                continue
        if mid_run:
            ingest = next(d for d in deployments if d["name"] == "hourly")
            run: dict[str, object] = {}
            while "id" not in run:
                run = httpx.post(
                    f"{api}/deployments/{ingest['id']}/create_flow_run", json={}, timeout=30
                ).json()
            while (
                httpx.get(f"{api}/flow_runs/{run['id']}", timeout=30).json()["state_type"]
                != "RUNNING"
            ):
                time.sleep(0.5)
            time.sleep(3)  # its workers are starting: the hardest moment to stop it
        started = time.monotonic()
        if group:
            os.killpg(serve.pid, signum)
        else:
            serve.send_signal(signum)
        output = serve.communicate(timeout=120)[0]
        seconds = time.monotonic() - started
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    time.sleep(1)
    return {
        "signal": signal.Signals(signum).name,
        "to": "group" if group else "pid",
        "while": "run" if mid_run else "idle",
        "seconds": round(seconds, 1),
        "exit": serve.returncode,
        "traceback": "Traceback" in output,
        "left": len(_left(marker)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newslake-serve-stop-"))
    pages = _pages(work)
    rows = []
    for mid_run in (False, True):
        for signum in (signal.SIGINT, signal.SIGTERM):
            for group in (True, False):
                for trial in range(args.trials):
                    folder = work / f"{mid_run}-{signum}-{group}-{trial}"
                    folder.mkdir()
                    rows.append(_once(folder, pages, signum, group, mid_run))
                    print(rows[-1], flush=True)
    print("| signal | to | while | seconds to exit | exit code | traceback | left |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['signal']} | {r['to']} | {r['while']} | {r['seconds']} | {r['exit']} | "
              f"{'yes' if r['traceback'] else 'no'} | {r['left']} |")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
