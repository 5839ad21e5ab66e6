"""Scheduled deployments: config/schedules.toml, prefect.yaml, and `newslake serve` for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from flows.serve import load_schedules
from tasks.errors import ConfigError
from tests.conftest import ROOT


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedules.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('name = "a"\ncron = "61 * * * *"\nsources = "s.toml"', "a"),
        ('name = "a"\ncron = "0 * * * *"\ntimezone = "Mars/Olympus"\nsources = "s.toml"', "a"),
        ('name = "a b"\ncron = "0 * * * *"\nsources = "s.toml"', "letters, digits and dashes"),
        ('name = "a"\ncron = "0 * * * *"', "nothing to ingest"),
        ('name = "a"\nsources = "s.toml"', "missing 'cron'"),
        ('name = "a"\ncron = "0 * * * *"\nsources = "s.toml"\nevery = 3', "unknown key"),
    ],
)
def test_bad_schedules_are_refused(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_schedules(_write(tmp_path, f"[[schedule]]\n{entry}\n"))


def test_schedule_names_are_unique(tmp_path: Path) -> None:
    entry = '[[schedule]]\nname = "a"\ncron = "0 * * * *"\nsources = "s.toml"\n'
    with pytest.raises(ConfigError, match="unique"):
        load_schedules(_write(tmp_path, entry * 2))


def test_prefect_yaml_declares_the_configured_schedules() -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    scheduled = {d["name"]: d for d in declared if d.get("schedules")}
    configured = load_schedules(ROOT / "config" / "schedules.toml")
    assert set(scheduled) == {s.name for s in configured}
    for schedule in configured:
        entry = scheduled[schedule.name]
        assert entry["entrypoint"] == "flows/ingest.py:ingest"
        assert entry["schedules"] == [{"cron": schedule.cron, "timezone": schedule.timezone}]
        assert entry["parameters"] == schedule.parameters()
        assert entry["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    entrypoints = {d["entrypoint"] for d in declared}
    assert {"flows/backfill.py:backfill", "flows/reprocess.py:reprocess"} <= entrypoints
    for entry in declared:  # every entrypoint names a real flow
        path, name = entry["entrypoint"].split(":")
        assert f"def {name}(" in (ROOT / path).read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _deployments(api: str) -> list[dict[str, object]]:
    try:
        response = httpx.post(f"{api}/deployments/filter", json={}, timeout=5)
    except httpx.HTTPError:
        return []
    return response.json() if response.status_code == 200 else []


@pytest.mark.slow
def test_serve_starts_a_server_and_registers_the_schedules(tmp_path: Path) -> None:
    """With no PREFECT_API_URL, `newslake serve` starts a local server and serves there."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 150
        found: list[dict[str, object]] = []
        while len(found) < 3 and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(1)
            found = _deployments(api)
        assert len(found) == 3, serve.stdout.read() if serve.poll() is not None else found
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            output = serve.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            serve.kill()
            output = serve.communicate()[0]
    assert f"Prefect API: {api}" in output
    by_name = {d["name"]: d for d in found}
    hourly = by_name["outlets-hourly"]
    assert [s["schedule"]["cron"] for s in hourly["schedules"]] == ["17 * * * *"]  # type: ignore[index]
    assert [s["schedule"]["timezone"] for s in hourly["schedules"]] == ["UTC"]  # type: ignore[index]
    assert hourly["global_concurrency_limit"]["limit"] == 1  # type: ignore[index]
    assert hourly["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"  # type: ignore[index]
    assert hourly["parameters"] == {"inputs": [], "sources": "config/sources.toml"}
    assert by_name["on-demand"]["schedules"] == []
