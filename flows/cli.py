"""The `newslake` command: `ingest` pages into a lake and `query` it with SQL.

Prefect's environment is set before Prefect is imported: no telemetry (there is no network to
send it to, and trying prints an error), warnings-only logs, and no flow heartbeat thread, which
otherwise adds a second to every run.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}.items():
    os.environ.setdefault(_key, _value)

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tasks.errors import NewslakeError  # noqa: E402
from tasks.settings import load_settings  # noqa: E402

app = typer.Typer(
    help="newslake: raw news pages in, clean linked Parquet tables out.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


class Format(StrEnum):
    """Output formats of `newslake query`."""

    table = "table"
    csv = "csv"
    json = "json"


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=1)


def _print_summary(summary: object) -> None:
    from flows.ingest import RunSummary

    assert isinstance(summary, RunSummary)
    articles = summary.tables["articles"]
    table = Table(title=f"run {summary.run_id}", show_header=False, box=None)
    table.add_row("lake", summary.lake)
    table.add_row("pages read", f"{summary.pages:,}")
    table.add_row(
        "articles",
        f"{summary.articles:,}  (new {articles.new:,}, updated {articles.updated:,}, "
        f"unchanged {articles.unchanged:,})",
    )
    by_stage = ", ".join(f"{stage} {n:,}" for stage, n in sorted(summary.rejects.items()))
    table.add_row("rejects", f"{summary.rejected:,}" + (f"  ({by_stage})" if by_stage else ""))
    table.add_row("duplicates skipped", f"{summary.duplicates:,}")
    entities = f"{summary.entities:,}"
    if summary.no_model:
        langs = ", ".join(f"{lang} {n}" for lang, n in summary.no_model.most_common())
        entities += f"  (none for articles in languages without a model: {langs})"
    table.add_row("entities", entities)
    table.add_row("quotes", f"{summary.quotes:,}")
    top = ", ".join(f"{d} {n}" for d, n in summary.domains.most_common(5))
    table.add_row("top domains", top or "-")
    web = summary.web
    if web.candidates or web.hosts or web.discovery_failures:
        table.add_row(
            "web",
            f"{web.candidates:,} URLs discovered, {web.skipped:,} already in the lake, "
            f"{web.from_raw:,} re-extracted from the raw zone",
        )
        for host, counts in sorted(web.hosts.items()):
            table.add_row(f"  {host}", ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
        for url, reason in sorted(web.discovery_failures.items()):
            table.add_row("  discovery failed", f"{url}: {reason}")
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    table.add_row("time", f"{summary.seconds:.1f} s ({rate:.1f} pages/s)")
    console.print(table)
    if summary.pages != summary.articles + summary.rejected + summary.duplicates:
        err.print("[bold red]page accounting does not add up: this is a bug, please report it[/]")


def _local_run_settings() -> AbstractContextManager[object]:
    """No flow heartbeat when Prefect runs its own temporary server: nobody watches for crashed
    runs there, and stopping the heartbeat thread costs every run about a second."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        return nullcontext()
    return temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@app.command()
def ingest(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="HTML/JSONL/WARC files or directories, http(s) URLs, .txt URL lists."),
    ] = None,
    lake: Annotated[str | None, typer.Option(help="Lake root (default: config lake.root).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: config run.workers; 0 = cores).")
    ] = None,
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
    allow_network: Annotated[
        list[str] | None,
        typer.Option(
            help="A private network the fetcher may reach (repeatable), e.g. 127.0.0.0/8."
        ),
    ] = None,
) -> None:
    """Read pages (files, URLs, URL lists, outlets), extract articles and write them to the lake."""
    from dataclasses import replace

    from prefect.task_runners import ProcessPoolTaskRunner

    from flows.ingest import ingest as ingest_flow
    from tasks.load import resolve_inputs
    from tasks.netguard import NetworkGuard
    from tasks.sources import is_web_input

    inputs = inputs or []
    if not inputs and not sources:
        raise _fail(NewslakeError("nothing to ingest: name files, URLs or --sources"))
    try:
        # Fail on a typo before Prefect's server takes seconds to start.
        resolve_inputs([i for i in inputs if not is_web_input(i)])
        settings = load_settings()
        if allow_network:
            networks = (*settings.fetch.allow_networks, *allow_network)
            settings = replace(settings, fetch=replace(settings.fetch, allow_networks=networks))
        NetworkGuard(settings.fetch.allow_networks)
    except (NewslakeError, ValueError) as exc:
        raise _fail(exc) from exc
    try:
        count = workers if workers is not None else settings.run.workers
        count = count if count > 0 else (os.cpu_count() or 1)
        runner = ProcessPoolTaskRunner(max_workers=count)
        flow = ingest_flow.with_options(task_runner=runner)  # type: ignore[arg-type]
        with _local_run_settings():
            summary = flow(
                inputs=inputs,
                lake=lake,
                workers=count,
                settings=settings,
                progress=progress and settings.run.progress and sys.stderr.isatty(),
                sources=sources,
                refresh=refresh,
                since=since.date() if since else None,
                until=until.date() if until else None,
            )
    except NewslakeError as exc:
        raise _fail(exc) from exc
    _print_summary(summary)


@app.command()
def query(
    sql: Annotated[
        str, typer.Argument(help="SQL over the views articles, rejects, entities, quotes.")
    ],
    lake: Annotated[str | None, typer.Option(help="Lake root (default: config lake.root).")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    limit: Annotated[int, typer.Option(help="Rows shown by --format table.")] = 50,
) -> None:
    """Run SQL with DuckDB over the lake's tables."""
    import polars as pl

    from tasks.query import run_query

    try:
        root = Path(lake or load_settings().lake)
        frame = run_query(root, sql)
    except NewslakeError as exc:
        raise _fail(exc) from exc
    if format is Format.csv:
        sys.stdout.write(frame.write_csv())
    elif format is Format.json:
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=limit, fmt_str_lengths=60, tbl_width_chars=160):
            sys.stdout.write(f"{frame}\n")


if __name__ == "__main__":
    app()
