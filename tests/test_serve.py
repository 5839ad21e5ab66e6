"""`newslake serve` for real: scheduled and on-demand runs, and how it stops.

The schedules' config and prefect.yaml are checked in tests/test_schedules.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from newslake.tasks.lake.query import run_query
from newslake.tasks.lake.runlog import recent_runs
from tests.conftest import ROOT, SAMPLES, Cli, finish, marked_processes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _api(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST to the Prefect server's REST API; None while it does not answer."""
    try:
        response = httpx.post(f"{api}{path}", json=body or {}, timeout=30)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code in (200, 201) else None


def _healthy(api: str) -> bool:
    """Whether the server answers its health check (a GET route: a POST there is refused)."""
    try:
        return httpx.get(f"{api}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _trigger(api: str, deployment_id: str, **parameters: Any) -> str:
    """Create a run of a deployment and return its id.

    A server busy starting the worker's first runs (SQLite under two loaded cores) can take longer
    than one request's timeout; the idempotency key makes a retry return the run the timed-out
    request may already have created, never a second one."""
    body = {"parameters": parameters, "idempotency_key": uuid.uuid4().hex}
    deadline = time.monotonic() + 120
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                f"{api}/deployments/{deployment_id}/create_flow_run", json=body, timeout=30
            )
        except httpx.HTTPError as exc:
            last = repr(exc)
        else:
            if response.status_code in (200, 201):
                return str(response.json()["id"])
            last = f"{response.status_code} {response.text[:500]}"
        time.sleep(2)
    pytest.fail(f"could not create a run of deployment {deployment_id}: {last}")


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _deployments(serve: subprocess.Popen[str], api: str) -> list[dict[str, Any]]:
    """Wait for serve's three deployments (two minutes at most) and return them."""
    deadline = time.monotonic() + 120
    found: list[dict[str, Any]] = []
    while len(found) < 3 and time.monotonic() < deadline and serve.poll() is None:
        time.sleep(1)
        found = _api(api, "/deployments/filter") or []
    assert len(found) == 3, found
    return found


def _config(tmp_path: Path, lake: Path) -> Path:
    """A config directory whose one schedule ingests the samples every minute."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "schedules.toml").write_text(
        '[[schedule]]\nname = "every-minute"\ncron = "* * * * *"\ntimezone = "UTC"\n'
        f'inputs = ["{SAMPLES}"]\nlake = "{lake}"\n'
    )
    return config


@pytest.mark.slow
def test_serve_runs_schedules_and_on_demand_deployments(cli: Cli, tmp_path: Path) -> None:
    """The README's default path: `newslake serve` with no Prefect server running.

    Its per-minute schedule fires and the run writes the lake; the on-demand backfill and
    reprocess deployments run to completion; two runs of the schedule triggered at once are
    handled as the README says (one runs, the other is cancelled, never both at once); SIGTERM
    stops serve, its server and its runs, and leaves no process behind."""
    lake, files_lake = tmp_path / "lake", tmp_path / "files-lake"
    crawls = tmp_path / "crawls"
    crawls.mkdir()
    shutil.copy(SAMPLES / "jsonl" / "dump.jsonl", crawls / "dump-2022-09-02.jsonl")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    cli.extra |= {
        "NEWSLAKE_CONFIG": str(_config(tmp_path, lake)),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "NEWSLAKE_RUN_WORKERS": "1",
        # Shorter loops than the defaults (60 s, 10 s), so the first minute's run starts sooner.
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    serve = cli.popen("serve", "--port", str(port))
    try:
        found = _deployments(serve, api)
        by_name = {(d["name"], d["entrypoint"].rsplit(":", 1)[1]): d for d in found}
        scheduled = by_name[("every-minute", "ingest")]
        assert [s["schedule"]["cron"] for s in scheduled["schedules"]] == ["* * * * *"]
        assert scheduled["global_concurrency_limit"]["limit"] == 1
        assert scheduled["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"

        def trigger(key: tuple[str, str], **parameters: Any) -> str:
            return _trigger(api, by_name[key]["id"], **parameters)

        backfill = trigger(
            ("on-demand", "backfill"), start="2022-09-01", end="2022-09-03",
            inputs=[str(crawls)], lake=str(files_lake),
        )  # fmt: skip
        reprocess = trigger(
            ("on-demand", "reprocess"), start="2001-01-01", end="2001-01-02",
            lake=str(tmp_path / "empty-lake"),
        )  # fmt: skip
        pair = [trigger(("every-minute", "ingest")) for _ in range(2)]

        def runs() -> dict[str, dict[str, Any]]:
            return {r["id"]: r for r in _api(api, "/flow_runs/filter") or []}

        def done(states: dict[str, dict[str, Any]]) -> bool:
            ours = [states.get(i, {}).get("state_type") for i in (backfill, reprocess, *pair)]
            fired = [
                r for r in states.values() if r["auto_scheduled"] and r["state_type"] == "COMPLETED"
            ]
            return all(s in FINAL for s in ours) and bool(fired)

        deadline = time.monotonic() + 240
        while not done(states := runs()) and time.monotonic() < deadline:
            assert serve.poll() is None, serve.stdout.read() if serve.stdout else ""
            time.sleep(2)
        assert done(states), {r["name"]: r["state_type"] for r in states.values()}
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            output = serve.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            output = serve.communicate()[0]
    assert f"Prefect API: {api}" in output
    assert serve.returncode == 0, output

    finished = {r["id"]: r for r in states.values() if r["state_type"] in FINAL}
    assert not [r for r in finished.values() if r["state_type"] in {"FAILED", "CRASHED"}], output
    assert finished[backfill]["state_type"] == finished[reprocess]["state_type"] == "COMPLETED"
    ingests = [r for r in finished.values() if r["deployment_id"] == scheduled["id"]]
    completed = [r for r in ingests if r["state_type"] == "COMPLETED"]
    cancelled = [r for r in ingests if r["state_type"] == "CANCELLED"]
    assert any(r["auto_scheduled"] for r in completed)  # the cron fired and its run completed
    assert {finished[i]["state_type"] for i in pair} <= {"COMPLETED", "CANCELLED"}
    assert cancelled, "two runs triggered at once: one must have been cancelled"
    assert all("concurrency" in r["state"]["message"].lower() for r in cancelled)
    spans = sorted((r["start_time"], r["end_time"]) for r in completed)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False))

    log = recent_runs(lake)
    assert log["flow"].to_list() == ["ingest"] * len(completed)
    assert run_query(lake, "select count(*) from articles").item() == 11
    assert recent_runs(files_lake)["articles"].to_list() == [2]
    assert recent_runs(tmp_path / "empty-lake")["message"].str.contains("nothing").to_list() == [
        True
    ]


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM a process group, SIGKILL it if it does not stop; its output."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0]


@pytest.mark.slow
def test_prefect_yaml_deployments_run_on_a_process_worker(cli: Cli, tmp_path: Path) -> None:
    """The README's other path: a Prefect server, a process work pool, `prefect deploy --all`
    from prefect.yaml and a worker; each of the three deployments runs to completion."""
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    lake = tmp_path / "lake"
    crawls = tmp_path / "crawls"
    crawls.mkdir()
    shutil.copy(SAMPLES / "jsonl" / "dump.jsonl", crawls / "dump-2022-09-02.jsonl")
    cli.extra |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "NEWSLAKE_HOME": str(ROOT),
        "NEWSLAKE_RUN_WORKERS": "1",
        # Any run the worker starts writes here, even the hourly schedule if it comes due.
        "NEWSLAKE_LAKE_ROOT": str(tmp_path / "default-lake"),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    server = cli.popen("server", "start", "--host", "127.0.0.1", "--port", str(port),
                       program="prefect")  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 120
        while not _healthy(api):
            assert server.poll() is None
            assert time.monotonic() < deadline, "the Prefect server did not come up in 120 s"
            time.sleep(1)
        pool = cli("work-pool", "create", "newslake", "--type", "process", program="prefect")
        assert pool.returncode == 0, pool.stdout
        deploy = cli("--no-prompt", "deploy", "--all", program="prefect")
        assert deploy.returncode == 0, deploy.stdout
        worker = cli.popen("worker", "start", "--pool", "newslake", program="prefect")
        deployed: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while len(deployed) < 3:  # a read that times out on a busy server is asked again
            assert time.monotonic() < deadline, deployed
            deployed = _api(api, "/deployments/filter") or []
        by_name = {(d["name"], d["entrypoint"].rsplit(":", 1)[1]): d["id"] for d in deployed}

        def trigger(key: tuple[str, str], **parameters: Any) -> str:
            return _trigger(api, by_name[key], **parameters)

        ids = {
            "ingest": trigger(
                ("outlets-hourly", "ingest"), inputs=[str(SAMPLES)], sources=None, lake=str(lake)
            ),  # fmt: skip
            "backfill": trigger(
                ("on-demand", "backfill"),
                start="2022-09-01",
                end="2022-09-03",
                inputs=[str(crawls)],
                lake=str(tmp_path / "files-lake"),
            ),  # fmt: skip
            "reprocess": trigger(
                ("on-demand", "reprocess"),
                start="2022-09-01",
                end="2022-09-30",
                lake=str(tmp_path / "empty-lake"),
            ),  # fmt: skip
        }
        deadline = time.monotonic() + 300
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            runs = {r["id"]: r["state_type"] for r in _api(api, "/flow_runs/filter") or []}
            states = {name: runs.get(i, "?") for name, i in ids.items()}
            if all(s in FINAL for s in states.values()):
                break
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            time.sleep(2)
        # A run is Completed before its process has stopped its pool: stopping the worker now
        # would kill those processes mid-way (and leave their temporary files).
        while any("prefect.engine" in p for p in marked_processes(cli.marker)):
            assert time.monotonic() < deadline, "the runs' processes did not end"
            time.sleep(0.5)
    finally:
        output = _stop(worker) if worker is not None else ""
        _stop(server)
    assert states == dict.fromkeys(ids, "COMPLETED"), output
    assert run_query(lake, "select count(*) from articles").item() == 11
    assert recent_runs(tmp_path / "files-lake")["articles"].to_list() == [2]


def _served(cli: Cli, tmp_path: Path, inputs: Path) -> tuple[subprocess.Popen[str], str, dict]:
    """`newslake serve` (no Prefect server running) with an hourly ingest of `inputs`; waits for
    its three deployments and returns the process, its API and the ingest's deployment."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    lake = tmp_path / "lake"
    (config / "schedules.toml").write_text(
        f'[[schedule]]\nname = "hourly"\ncron = "0 * * * *"\ninputs = ["{inputs}"]\n'
        f'lake = "{lake}"\n'
    )
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    cli.extra |= {
        "NEWSLAKE_CONFIG": str(config),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    serve = cli.popen("serve", "--port", str(port))
    found = _deployments(serve, api)
    return serve, api, next(d for d in found if d["name"] == "hourly")


def _state(api: str, run_id: str) -> str | None:
    try:
        return httpx.get(f"{api}/flow_runs/{run_id}", timeout=30).json()["state_type"]
    except (httpx.HTTPError, KeyError):
        return None


def _start_a_run(api: str, deployment: dict[str, Any]) -> None:
    """Trigger a run of the deployment and wait until it is running."""
    run = _trigger(api, deployment["id"])
    deadline = time.monotonic() + 120
    while _state(api, run) not in {"RUNNING", *FINAL} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _state(api, run) == "RUNNING"


def _signal(serve: subprocess.Popen[str], signum: int, target: str) -> None:
    if target == "group":  # a terminal's Ctrl-C, systemd's KillMode=control-group
        os.killpg(serve.pid, signum)
    else:
        serve.send_signal(signum)


def _stopped(serve: subprocess.Popen[str]) -> tuple[int, str]:
    """Serve's exit code and output, once it is gone (bounded at 60 s). How long the stop takes
    is measured by bench/serve_stop.py."""
    output = finish(serve, 60)
    return serve.returncode, output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "target", "mid_run"),
    [
        (signal.SIGINT, "group", False),  # Ctrl-C in a terminal while idle
        (signal.SIGTERM, "pid", False),  # kill PID
        (signal.SIGTERM, "group", True),  # systemctl stop / docker stop while a run goes on
        (signal.SIGINT, "group", True),  # Ctrl-C while a run goes on
    ],
)
def test_serve_stops_the_way_services_are_stopped(
    cli: Cli, tmp_path: Path, signum: int, target: str, mid_run: bool
) -> None:
    """Gone well within the bound, exit 0, no traceback, nothing left (the cli fixture scans for
    survivors), the lake whole; a run cut off is completed by the next run."""
    pages = tmp_path / "pages"
    shutil.copytree(SAMPLES, pages)
    serve, api, deployment = _served(cli, tmp_path, pages)
    if not mid_run:  # the UI it advertises asks its own API, not the default port's
        settings = httpx.get(f"{api.removesuffix('/api')}/ui-settings", timeout=30).json()
        assert settings["api_url"] == api
    else:
        _start_a_run(api, deployment)
    _signal(serve, signum, target)
    code, output = _stopped(serve)
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "stopped" in output
    lake = tmp_path / "lake"
    if mid_run:
        # Whatever the cut-off run committed reads cleanly; the next run completes the pages.
        result = cli("ingest", str(pages), "--lake", str(lake), "--no-progress")
        assert result.returncode == 0, result.stdout
        assert run_query(lake, "select count(*) from articles").item() == 11
        assert not [p for p in (lake / "_staging").rglob("*") if p.is_file()]  # cleaned


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once(cli: Cli, tmp_path: Path) -> None:
    serve, api, deployment = _served(cli, tmp_path, SAMPLES)
    _start_a_run(api, deployment)
    _signal(serve, signal.SIGINT, "group")
    time.sleep(0.5)
    _signal(serve, signal.SIGINT, "group")
    code, output = _stopped(serve)
    assert code == 128 + signal.SIGINT, output  # the second signal's exit, not the graceful 0
    assert "stopped at once" in output


def test_a_stop_signal_lost_in_a_weakref_callback_prints_no_traceback() -> None:
    """A served run stopped by SIGTERM to serve's group printed "Exception ignored … Traceback
    … TerminationSignal" when the signal landed in a weakref callback (seen once in CI under
    load). Python's own unraisable-exception path, in a fresh interpreter: the stop is silent,
    any other error is still printed."""
    code = """if True:
        import sys, weakref
        from prefect.exceptions import TerminationSignal
        from newslake.flows.serve import quiet_termination

        sys.unraisablehook = quiet_termination

        class Thing: ...

        def stop(_): raise TerminationSignal(signal=15)
        def fail(_): raise ValueError("still shown")

        first, second = Thing(), Thing()
        refs = [weakref.ref(first, stop), weakref.ref(second, fail)]
        del first, second
    """
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "TerminationSignal" not in done.stderr
    assert "ValueError: still shown" in done.stderr
