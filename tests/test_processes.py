"""Nothing a command starts outlives it: its Prefect server and its worker processes end with it,
on success (every test using the `cli` fixture checks that), on error, on SIGINT and on SIGTERM."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path

import pytest
from prefect import flow, task

from newslake.flows.runners import WarmProcessPool, task_runner
from newslake.tasks.lake.query import run_query
from newslake.tasks.settings import RunOptions
from tests.conftest import SAMPLES, Cli, corpus, marked_processes

pytestmark = pytest.mark.slow


def _wait_for_workers(cli: Cli, timeout_s: float = 180) -> list[str]:
    """The command's processes once its worker processes are running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = marked_processes(cli.marker)
        if any("multiprocessing.spawn" in p for p in running):
            return running
        time.sleep(0.2)
    pytest.fail("the worker processes never started")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_run_stops_the_server_and_the_workers(
    cli: Cli, tmp_path: Path, sig: signal.Signals
) -> None:
    pages = corpus("pages", "html")
    run = cli.popen("ingest", str(pages), "--lake", str(tmp_path / "lake"), "--workers", "2")
    running = _wait_for_workers(cli)
    assert any("uvicorn" in p for p in running)  # the temporary Prefect server, started by it
    run.send_signal(sig)
    output = run.communicate(timeout=120)[0]
    assert run.returncode != 0, output
    assert cli.survivors() == [], output


def test_an_error_exit_leaves_nothing_running(cli: Cli, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    with (lake / "_lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds the lake
        result = cli("ingest", str(SAMPLES), "--lake", str(lake))
    assert result.returncode == 1
    assert "another newslake run is writing" in result.stdout
    assert cli.survivors() == []


def test_a_small_run_uses_no_worker_processes(cli: Cli, tmp_path: Path) -> None:
    """A handful of pages is processed in the command's own process: no pool is started."""
    lake = tmp_path / "lake"
    run = cli.popen("ingest", str(SAMPLES), "--lake", str(lake), "--workers", "2")
    seen: set[str] = set()
    while run.poll() is None:
        seen.update(marked_processes(cli.marker))
        time.sleep(0.1)
    output = run.communicate()[0]
    assert run.returncode == 0, output
    assert not any("multiprocessing.spawn" in p for p in seen)
    assert run_query(lake, "select count(*) from articles").item() == 11


def _worker_pids() -> set[int]:
    """This process's children that are process-pool workers."""
    found = set()
    for child in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in child.read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and b"multiprocessing.spawn" in cmdline.read_bytes():
                found.add(int(pid))
    return found


@task
def _pid() -> int:
    return os.getpid()


@flow
def _pids(count: int) -> list[int]:
    return [f.result() for f in [_pid.submit() for _ in range(count)]]


@pytest.mark.usefixtures("prefect_harness")
def test_a_warm_pool_starts_its_workers_before_the_flow_and_the_flow_uses_them() -> None:
    """Workers started warm (flows/runners.py) are the ones the flow run's tasks run in, and
    they end with the run."""
    pool = task_runner(RunOptions(workers=2))
    assert isinstance(pool, WarmProcessPool)
    assert _worker_pids() == set()
    pool.warm()
    deadline = time.monotonic() + 120
    while len(started := _worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(started) == 2  # both spawned before any task was submitted
    ran = _pids.with_options(task_runner=pool)(6)
    assert set(ran) <= started
    assert _worker_pids() == set()  # the flow run's end stopped them
