"""A Prefect API that goes away: at start, mid-run, restarted, and signals while it is gone.

A real `prefect server start` serves the run (PREFECT_API_URL), and is killed the way an OOM
kill or a host restart kills it: SIGKILL to its process group. A run's data does not depend on
Prefect, so a run that loses its API commits and says Prefect could not be told; one whose
server comes back completes as usual; and SIGTERM or SIGINT stop a run in that state.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.store import Lake
from tests.conftest import Cli, assert_accounted
from tests.newssite import story_page

PAGES = 150
# Far above what each outcome takes (a few seconds to half a minute): a bound, not a timing.
BOUND_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


class Server:
    """`prefect server start` on a port of its own; killed and started again on demand."""

    def __init__(self, cli: Cli, home: Path) -> None:
        self.cli, self.port = cli, _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (its output to a file: a pipe nobody reads would block it)."""
        command = self.cli.command(
            "server", "start", "--host", "127.0.0.1", "--port", str(self.port), program="prefect"
        )
        log = self.home.parent / "server.log"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, env=self.cli.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + BOUND_S
        while not _healthy(self.api):
            assert self.proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Prefect server did not come up"
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL to the server's whole group, as the kernel's OOM killer or a reboot does."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        assert not _healthy(self.api)


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[Server]:
    cli.extra |= {"PREFECT_HOME": str(tmp_path / "prefect")}
    running = Server(cli, tmp_path / "prefect")
    running.start()
    cli.extra |= {"PREFECT_API_URL": running.api}
    yield running
    if running.proc is not None and running.proc.poll() is None:
        os.killpg(running.proc.pid, signal.SIGKILL)
        running.proc.wait()


def _pages(folder: Path) -> set[str]:
    folder.mkdir()
    sources = set()
    for n in range(PAGES):
        path = folder / f"story-{n}.html"
        path.write_text(story_page(date(2024, 5, 1 + n % 28), n))
        sources.add(str(path))
    return sources


def _staged(lake: Path) -> bool:
    """Whether the run has staged a batch: it is past its start and before its commit's end."""
    staging = lake / "_staging"
    return staging.exists() and any(p.suffix == ".parquet" for p in staging.rglob("*"))


def _start_and_kill(
    cli: Cli, server: Server, tmp_path: Path
) -> tuple[subprocess.Popen[str], Path, set[str]]:
    """Start an ingest against the server and kill the server once the run has staged rows."""
    sources = _pages(tmp_path / "pages")
    lake = tmp_path / "lake"
    proc = cli.popen("ingest", str(tmp_path / "pages"), "--lake", str(lake))
    deadline = time.monotonic() + BOUND_S
    while not _staged(lake):
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the run staged nothing"
        time.sleep(0.05)
    server.kill()
    return proc, lake, sources


def _lock_is_free(lake: Path) -> bool:
    try:
        with Lake.of(str(lake)).lock():
            return True
    except Exception:  # noqa: BLE001 - LakeBusyError: someone holds it
        return False


@pytest.mark.slow
def test_an_unreachable_api_at_start_is_one_clear_error(cli: Cli, tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_free_port()}/api"
    cli.extra |= {"PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "prefect")}
    _pages(tmp_path / "pages")
    result = cli(
        "ingest", str(tmp_path / "pages"), "--lake", str(tmp_path / "lake"), timeout=BOUND_S
    )
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "error:" in line]
    assert len(lines) == 1, result.stdout
    assert api in result.stdout.replace("\n", "")
    assert "does not answer" in result.stdout
    assert not (tmp_path / "lake" / "articles").exists()


@pytest.mark.slow
def test_a_server_killed_mid_run_costs_the_record_not_the_run(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    proc, lake, sources = _start_and_kill(cli, server, tmp_path)
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 0, output[-3000:]
    assert "Prefect could not be told" in output
    assert_accounted(lake, sources)
    [(message,)] = run_query(lake, "select message from runs").rows()
    assert "Prefect could not be told" in message
    assert _lock_is_free(lake)
    assert not [p for p in (lake / "_staging").rglob("*.parquet")]


@pytest.mark.slow
def test_a_server_restarted_mid_run_lets_it_complete(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    proc, lake, sources = _start_and_kill(cli, server, tmp_path)
    server.start()  # same port, same database: a restart
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 0, output[-3000:]
    assert "could not be told" not in output
    assert_accounted(lake, sources)
    runs = httpx.post(f"{server.api}/flow_runs/filter", json={}, timeout=30).json()
    assert [r["state_type"] for r in runs if r["name"]] == ["COMPLETED"], runs


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "group"), [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_signals_stop_a_run_whose_server_is_gone(
    cli: Cli, server: Server, tmp_path: Path, signum: int, group: bool
) -> None:
    """SIGTERM to the command, Ctrl-C to its group: either stops it while Prefect's client
    retries a gone server, nothing outlives it, and the next run completes the lake."""
    proc, lake, sources = _start_and_kill(cli, server, tmp_path)
    time.sleep(1)
    os.killpg(proc.pid, signum) if group else proc.send_signal(signum)
    output, _ = proc.communicate(timeout=BOUND_S)
    assert proc.returncode in (1, 128 + signum), output[-3000:]
    assert cli.survivors() == []
    assert _lock_is_free(lake)
    cli.extra.pop("PREFECT_API_URL")
    again = cli("ingest", str(tmp_path / "pages"), "--lake", str(lake), timeout=600)
    assert again.returncode == 0, again.stdout[-3000:]
    assert_accounted(lake, sources)
