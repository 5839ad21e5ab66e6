"""Scheduled deployments as configured: config/schedules.toml and prefect.yaml."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from newslake.flows.serve import load_schedules
from newslake.tasks.errors import ConfigError
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
        assert entry["entrypoint"] == "newslake.flows.ingest:ingest"
        assert entry["schedules"] == [{"cron": schedule.cron, "timezone": schedule.timezone}]
        assert entry["parameters"] == schedule.parameters()
        assert entry["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    entrypoints = {d["entrypoint"] for d in declared}
    assert {"newslake.flows.backfill:backfill", "newslake.flows.reprocess:reprocess"} <= entrypoints
    for entry in declared:  # every entrypoint names a real flow, by module: the installed one too
        module, name = entry["entrypoint"].split(":")
        flow = getattr(importlib.import_module(module), name)
        assert flow.name == name
