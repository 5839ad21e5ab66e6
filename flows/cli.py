"""The `newslake` command: the runs (`ingest`, `backfill`, `reprocess`, `serve`) and `config`.

The commands over an existing lake (`query`, `runs`, `health`, `reindex`, `compact`) live in
flows/lake_commands.py and are registered here.

Prefect's environment is set before Prefect is imported: no telemetry (there is no network to
send it to, and trying prints an error), warnings-only logs, and no flow heartbeat thread, which
otherwise adds a second to every run.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "DASK_LOGGING__DISTRIBUTED": "error",
    # Prefect retries a failed API call with waits of 2, 4, 8 … s: five retries (its default)
    # hold a run for a minute per call when the server is gone. Three give a restarting server
    # 14 s to come back (flows/prefect_api.py says what a run does when it does not).
    "PREFECT_CLIENT_MAX_RETRIES": "3",
}.items():
    os.environ.setdefault(_key, _value)

import typer  # noqa: E402

from newslake.flows.console import LakeOption, console, err, fail  # noqa: E402
from newslake.flows.lake_commands import compact, health, query, reindex, runs  # noqa: E402
from newslake.flows.stopping import stop_on_signals  # noqa: E402
from newslake.tasks.errors import NewslakeError  # noqa: E402
from newslake.tasks.settings import Settings, load_settings  # noqa: E402

app = typer.Typer(
    help="newslake: raw news pages in, clean linked Parquet tables out.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        console.print(f"newslake {version('newslake')}")
        raise typer.Exit


@app.callback()
def _main(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A folder of config files that override the defaults, setting by setting.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    stop_on_signals()
    if config is not None:
        from newslake.tasks.configfiles import OPTION_VARIABLE

        # In the environment, so the command's worker processes read the same folder.
        os.environ[OPTION_VARIABLE] = str(config.resolve())


@app.command("config")
def show_config() -> None:
    """Print every setting, its value, and where the value came from (which config file, an
    environment variable, or the built-in default)."""
    from rich.table import Table

    from newslake.tasks.configfiles import config_dirs
    from newslake.tasks.settings import setting_origins

    try:
        folders = config_dirs()
        rows = setting_origins()
    except NewslakeError as exc:
        raise fail(exc) from exc
    for folder, label in folders:
        console.print(f"config folder ({label}): {folder}")
    table = Table(box=None)
    for column in ("setting", "value", "from"):
        table.add_column(column, overflow="fold")
    for key, value, origin in rows:
        table.add_row(key, repr(value), origin)
    console.print(table)


class Runner(StrEnum):
    """Task runners a run can use (see flows/runners.py)."""

    process = "process"
    dask = "dask"


RunnerOption = Annotated[
    Runner | None, typer.Option(help="Where batches run (default: config run.runner).")
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler, e.g. tcp://host:8786 (default: a LocalCluster)."),
]
WorkersOption = Annotated[
    int | None, typer.Option(help="Worker processes (default: config run.workers; 0 = cores).")
]


class Render(StrEnum):
    """When a fetched page is rendered in a headless Chromium (tasks/web/render.py)."""

    never = "never"
    auto = "auto"
    always = "always"


RenderOption = Annotated[
    Render | None,
    typer.Option(help="Render pages written by JavaScript (default: config fetch.render)."),
]
AllowNetworkOption = Annotated[
    list[str] | None,
    typer.Option(help="A private network the fetcher may reach (repeatable), e.g. 127.0.0.0/8."),
]


def _allow_networks(settings: Settings, networks: list[str] | None) -> Settings:
    """The settings with the command line's extra networks for the fetcher's guard (checked)."""
    from dataclasses import replace

    from newslake.tasks.web.netguard import NetworkGuard

    if networks:
        allowed = (*settings.fetch.allow_networks, *networks)
        settings = replace(settings, fetch=replace(settings.fetch, allow_networks=allowed))
    NetworkGuard(settings.fetch.allow_networks)
    return settings


def _with_runner(
    settings: Settings, workers: int | None, runner: Runner | None, dask_address: str | None
) -> Settings:
    """The settings with the command line's runner choices applied (0 workers = one per core,
    resolved by `RunOptions.worker_count` where the runner is made)."""
    from dataclasses import replace

    run = settings.run
    run = replace(run, workers=workers) if workers is not None else run
    run = replace(run, runner=runner.value) if runner is not None else run
    run = replace(run, dask_address=dask_address) if dask_address is not None else run
    return replace(settings, run=run)


def _with_render(settings: Settings, render: Render | None) -> Settings:
    """The settings with the command line's render mode; a run that renders checks for its
    browser now, so a missing one is one error at start, not a reject per page."""
    from dataclasses import replace

    from newslake.tasks.web.render import check_rendering

    if render is not None:
        settings = replace(settings, fetch=replace(settings.fetch, render=render.value))
    if settings.fetch.render != "never":
        check_rendering(settings.fetch)
    return settings


def _run_flow(entry: str, settings: Settings, *, warm: bool = False, **parameters: Any) -> None:
    """Run a flow as a command (flows/launch.py) and exit with its code."""
    from newslake.flows.launch import run_flow

    code = run_flow(entry, settings, warm=warm, **parameters)
    if code:
        raise typer.Exit(code=code)


@app.command()
def ingest(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="HTML/JSONL/WARC files or directories, http(s) URLs, .txt URL lists."),
    ] = None,
    lake: LakeOption = None,
    workers: WorkersOption = None,
    runner: RunnerOption = None,
    dask_address: DaskAddressOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    sources: Annotated[
        str | None, typer.Option(help="A sources file (config/sources.toml) to discover and fetch.")
    ] = None,
    refresh: Annotated[
        bool, typer.Option(help="Fetch again URLs the lake has (conditional requests).")
    ] = False,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only URLs dated from this day.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only URLs dated up to this day.")
    ] = None,
    allow_network: AllowNetworkOption = None,
    render: RenderOption = None,
) -> None:
    """Read pages (files, URLs, URL lists, outlets), extract articles and write them to the lake."""
    from newslake.flows.launch import needs_workers
    from newslake.tasks.pages.load import resolve_inputs
    from newslake.tasks.web.sources import is_web_input

    inputs = inputs or []
    if not inputs and not sources:
        raise fail(NewslakeError("nothing to ingest: name files, URLs or --sources"))
    try:
        # Fail on a typo before Prefect's server takes seconds to start.
        files = resolve_inputs([i for i in inputs if not is_web_input(i)])
        settings = _allow_networks(load_settings(), allow_network)
        settings = _with_render(_with_runner(settings, workers, runner, dask_address), render)
    except NewslakeError as exc:
        raise fail(exc) from exc
    web = bool(sources) or any(is_web_input(i) for i in inputs)
    _run_flow(
        "newslake.flows.ingest:ingest",
        settings,
        warm=needs_workers(files, web=web, settings=settings),
        inputs=inputs,
        lake=lake,
        progress=progress and settings.run.progress and sys.stderr.isatty(),
        sources=sources,
        refresh=refresh,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )


@app.command()
def backfill(
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="URLs, URL lists, or files/directories (files dated in the range)."),
    ] = None,
    sources: Annotated[
        str | None, typer.Option(help="A sources file whose outlets are searched for the range.")
    ] = None,
    lake: LakeOption = None,
    workers: WorkersOption = None,
    runner: RunnerOption = None,
    dask_address: DaskAddressOption = None,
    allow_network: AllowNetworkOption = None,
    render: RenderOption = None,
) -> None:
    """Ingest what was published in a date range, one task per day (days run in parallel)."""
    if not inputs and not sources:
        raise fail(NewslakeError("nothing to backfill: name --sources, URLs or files"))
    try:
        settings = _allow_networks(load_settings(), allow_network)
        settings = _with_render(_with_runner(settings, workers, runner, dask_address), render)
    except NewslakeError as exc:
        raise fail(exc) from exc
    _run_flow(
        "newslake.flows.backfill:backfill", settings, start=start.date(), end=end.date(),
        sources=sources, inputs=inputs or [], lake=lake,
    )  # fmt: skip


@app.command()
def reprocess(
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    lake: LakeOption = None,
    workers: WorkersOption = None,
    runner: RunnerOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Extract and enrich a date range again from the raw zone (no network)."""
    try:
        settings = _with_runner(load_settings(), workers, runner, dask_address)
    except NewslakeError as exc:
        raise fail(exc) from exc
    _run_flow(
        "newslake.flows.reprocess:reprocess",
        settings,
        start=start.date(),
        end=end.date(),
        lake=lake,
    )


@app.command()
def serve(
    port: Annotated[
        int, typer.Option(help="Port of the local Prefect server, if one starts.")
    ] = 4200,
) -> None:
    """Register the deployments (config/schedules.toml, backfill, reprocess) and run them when due.

    Uses the Prefect API in PREFECT_API_URL; without one, starts a local Prefect server (with its
    UI) for as long as this command runs.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from newslake.flows.prefect_api import local_server
    from newslake.flows.serve import build_deployments, load_schedules, serve_until_stopped

    def stopping() -> None:
        err.print("stopping: cancelling runs in progress (press Ctrl-C again to stop at once)")

    try:
        schedules = load_schedules()
        server = nullcontext(PREFECT_API_URL.value()) if PREFECT_API_URL.value() else None
        with server or local_server(port) as api:
            # Prefect read its settings when it was imported: changing the environment alone
            # would leave this process's own client on a temporary server of its own (sharing
            # PREFECT_HOME's database, not its in-memory concurrency leases) while the runs'
            # processes talk to this one. The settings context is what every client and every
            # process the runner spawns reads.
            os.environ["PREFECT_API_URL"] = api
            with temporary_settings(updates={PREFECT_API_URL: api}):
                console.print(f"Prefect API: {api}  (UI: {api.removesuffix('/api')})")
                for s in schedules:
                    console.print(f"  schedule {s.name}: {s.cron} ({s.timezone})")
                serve_until_stopped(build_deployments(schedules), stopping)
    except NewslakeError as exc:
        raise fail(exc) from exc
    except KeyboardInterrupt:  # Ctrl-C while the deployments were being registered
        pass
    err.print("stopped")


for _command in (reindex, compact, runs, query, health):
    app.command()(_command)

if __name__ == "__main__":
    app()
