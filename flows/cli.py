"""The `newslake` command: `ingest` pages into a lake and `query` it with SQL.

Prefect's environment is set before Prefect is imported: no telemetry (there is no network to
send it to, and trying prints an error), warnings-only logs, and no flow heartbeat thread, which
otherwise adds a second to every run.
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager, nullcontext
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
    top = ", ".join(f"{d} {n}" for d, n in summary.domains.most_common(5))
    table.add_row("top domains", top or "-")
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
    inputs: Annotated[list[str], typer.Argument(help="HTML/JSONL/WARC files or directories.")],
    lake: Annotated[str | None, typer.Option(help="Lake root (default: config lake.root).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: config run.workers; 0 = cores).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Read pages, extract articles and write them to the lake."""
    from prefect.task_runners import ProcessPoolTaskRunner

    from flows.ingest import ingest as ingest_flow
    from tasks.load import resolve_inputs

    try:
        resolve_inputs(inputs)  # fail on a typo before Prefect's server takes seconds to start
        settings = load_settings()
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
            )
    except NewslakeError as exc:
        raise _fail(exc) from exc
    _print_summary(summary)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views articles, rejects.")],
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
