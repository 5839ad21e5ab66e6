"""Deployments: scheduled ingests from config/schedules.toml, plus backfill and reprocess.

`newslake serve` registers them with a Prefect API and runs them in this process when they are
due (`prefect.serve`). Schedules need a real Prefect server (the ephemeral one cannot schedule):
when `PREFECT_API_URL` is not set, `local_server` (`flows/prefect_api.py`) starts `prefect
server start` on 127.0.0.1 and this process is pointed at it. A scheduled ingest never overlaps
itself: its deployment's concurrency limit is one, and a run that comes due while the last one
still runs is cancelled (the next run picks up whatever it would have fetched, because ingest is
incremental).

`serve_until_stopped` runs the deployments the way a service manager expects: the first SIGINT
(Ctrl-C) or SIGTERM (`systemctl stop`, `docker stop`), to the process or to its whole group,
stops it gracefully — runs in progress are cancelled (their processes stopped, marked Cancelled
in Prefect; what they staged is invisible and cleaned by the next run), schedules paused — and a
second signal stops it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newslake.flows.stopping import (
    COMMAND_DEADLINE_S,
    abandon,
    descendants,
    remove_on_exit,
    stop_now,
    stopping_takes,
)
from newslake.tasks.configfiles import config_file
from newslake.tasks.errors import ConfigError

__all__ = [
    "Schedule",
    "build_deployments",
    "leave_ctrl_c_to_serve",
    "quiet_termination",
    "load_schedules",
    "serve_until_stopped",
]

# How long serve's graceful stop may take before it stops at once: runs in progress are then
# killed and marked Crashed (what they staged is invisible; the next run cleans it). Well inside
# a service manager's stop timeout (systemd's default is 90 s).
STOP_DEADLINE_S = 5.0
_KILLED = "stopped at once: runs in progress were killed (the lake is whole)"
_NOT_STARTED = "stopped: no run had started"
_LAST_RESORT_S = 3.0

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One scheduled ingest, as config/schedules.toml declares it."""

    name: str
    cron: str
    timezone: str = "UTC"
    sources: str | None = None
    inputs: tuple[str, ...] = ()
    lake: str | None = None

    def parameters(self) -> dict[str, Any]:
        """The ingest flow's parameters for this schedule's runs."""
        params: dict[str, Any] = {"inputs": list(self.inputs), "sources": self.sources}
        if self.lake:
            params["lake"] = self.lake
        return params


def _schedule(entry: dict[str, Any], where: str) -> Schedule:
    from prefect.client.schemas.schedules import CronSchedule

    unknown = set(entry) - {"name", "cron", "timezone", "sources", "inputs", "lake"}
    if unknown:
        msg = f"{where}: unknown key(s) {', '.join(sorted(unknown))}"
        raise ConfigError(msg)
    try:
        schedule = Schedule(
            name=str(entry["name"]),
            cron=str(entry["cron"]),
            timezone=str(entry.get("timezone", "UTC")),
            sources=entry.get("sources"),
            inputs=tuple(entry.get("inputs", ())),
            lake=entry.get("lake"),
        )
    except KeyError as exc:
        msg = f"{where}: missing {exc.args[0]!r}"
        raise ConfigError(msg) from exc
    if not _NAME.match(schedule.name):
        msg = f"{where}: name {schedule.name!r} may hold only letters, digits and dashes"
        raise ConfigError(msg)
    try:
        CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    except ValueError as exc:
        msg = f"{where} ({schedule.name}): {exc}"
        raise ConfigError(msg) from exc
    if not schedule.sources and not schedule.inputs:
        msg = f"{where} ({schedule.name}): give `sources` or `inputs`: nothing to ingest"
        raise ConfigError(msg)
    return schedule


def load_schedules(path: Path | None = None) -> list[Schedule]:
    """The [[schedule]] entries of config/schedules.toml, validated."""
    path = path or config_file("schedules.toml")
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text()).get("schedule", [])
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path}: {exc}"
        raise ConfigError(msg) from exc
    schedules = [_schedule(e, f"{path} [[schedule]] #{i + 1}") for i, e in enumerate(entries)]
    names = [s.name for s in schedules]
    if len(set(names)) != len(names):
        msg = f"{path}: schedule names must be unique"
        raise ConfigError(msg)
    return schedules


def build_deployments(schedules: list[Schedule]) -> list[Any]:
    """A deployment per schedule of the ingest flow, and on-demand backfill and reprocess."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    from newslake.flows.backfill import backfill
    from newslake.flows.ingest import ingest
    from newslake.flows.reprocess import reprocess

    no_overlap = ConcurrencyLimitConfig(
        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
    )
    deployments = [
        ingest.to_deployment(
            name=s.name,
            schedule=Cron(s.cron, timezone=s.timezone),
            parameters=s.parameters(),
            concurrency_limit=no_overlap,
            tags=["newslake", "scheduled"],
            description=f"Scheduled ingest ({s.cron}, {s.timezone}).",
        )
        for s in schedules
    ]
    deployments.append(backfill.to_deployment(name="on-demand", tags=["newslake"]))
    deployments.append(reprocess.to_deployment(name="on-demand", tags=["newslake"]))
    return deployments


# Set by serve for the runs it starts (they inherit its environment).
_SERVED = "NEWSLAKE_SERVED_RUN"


def leave_ctrl_c_to_serve() -> None:
    """In a run that serve started: ignore SIGINT. A terminal's Ctrl-C reaches serve's whole
    process group, its runs included, and a run interrupted mid-wait dies messily (CPython's
    lock raises "release unlocked lock"); serve stops its runs itself through Prefect."""
    if os.environ.get(_SERVED) and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.unraisablehook = quiet_termination


def quiet_termination(unraisable: Any) -> None:
    """In a run that serve started: say nothing of a stop signal that could not be raised. A
    SIGTERM to serve's group that lands while the run's interpreter is inside a weakref
    callback or a finalizer raises Prefect's TerminationSignal where nothing can catch it, and
    Python prints it with a traceback ("Exception ignored in …"). serve stops the run anyway
    (it kills what is still running at its deadline); anything else is printed as before."""
    from prefect.exceptions import TerminationSignal

    if not isinstance(unraisable.exc_value, TerminationSignal):
        sys.__unraisablehook__(unraisable)


def serve_until_stopped(deployments: list[Any], on_stop: Any = None) -> None:
    """Register the deployments and run them when due until SIGINT or SIGTERM; return when the
    graceful stop is done (`on_stop()` is called when it begins)."""
    from prefect.runner import Runner

    class _Runner(Runner):
        """Prefect's runner, stopped as a service is: SIGINT does what SIGTERM does."""

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            signum = args[0] if args else signal.SIGTERM
            if self.stopping:
                stop_now(signum, _KILLED)
            if on_stop is not None:
                on_stop()
            if not self.started or getattr(self, "_loop", None) is None:
                # Prefect would raise SystemExit from the handler in whatever frame the signal
                # interrupted; raised inside an object's finalizer it is lost ("Exception
                # ignored in __del__"), and serve ran on until its deadline killed it (exit
                # 130). Nothing is running yet: exit now, with what serve started.
                abandon(0, _NOT_STARTED)
            super().handle_sigterm(*args, **kwargs)
            if self.stopping:
                timer = threading.Timer(STOP_DEADLINE_S, self._force_stop, args=(signum,))
                timer.daemon = True
                timer.start()

        def _force_stop(self, signum: int) -> None:
            """Still not stopped `STOP_DEADLINE_S` after the signal: Prefect gives a run 30 s
            to end before it kills it, and a run interrupted while its workers start can take
            all of that. Its processes are killed now, so Prefect's cancellation completes (the
            run is marked Cancelled); if serve is still not done a few seconds later, its runs
            are marked Crashed and everything is stopped at once."""
            for flow_run_id in self._process_manager.flow_run_ids():
                handle = self._process_manager.get(flow_run_id)
                if handle is not None and handle.pid is not None:
                    for pid in [*descendants(handle.pid), handle.pid]:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
            time.sleep(_LAST_RESORT_S)
            from prefect.client.orchestration import get_client
            from prefect.states import Crashed

            with (
                contextlib.suppress(Exception),
                get_client(sync_client=True, httpx_settings={"timeout": 3}) as client,
            ):
                for flow_run_id in self._process_manager.flow_run_ids():
                    client.set_flow_run_state(
                        flow_run_id, Crashed(message="newslake serve was stopped"), force=True
                    )
            stop_now(signum, _KILLED)

        async def start(self, run_once: bool = False, webserver: bool | None = None) -> None:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, self.handle_sigterm)
            await super().start(run_once=run_once, webserver=webserver)

    # The command's own deadline backs this staged stop up; cutting it short (a graceful stop
    # on a busy machine takes seconds after the runs are killed) would turn exit 0 into 143.
    stopping_takes(STOP_DEADLINE_S + _LAST_RESORT_S + COMMAND_DEADLINE_S)
    os.environ[_SERVED] = "1"
    runner = _Runner(pause_on_shutdown=True)
    remove_on_exit(runner._tmp_dir)  # noqa: SLF001 - Prefect names it nowhere else
    for deployment in deployments:
        runner.add_deployment(deployment)
    try:
        asyncio.run(runner.start())
    except SystemExit as exc:  # a signal before the runner had started: nothing to stop
        if exc.code not in (0, None):
            raise
