"""The `newslake` commands that read or mend an existing lake: `reindex`, `compact`, `runs`,
`query` and `health`. flows/cli.py registers them on the app; none starts Prefect."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newslake.flows.console import Format, LakeOption, console, fail, print_frame
from newslake.tasks.errors import NewslakeError, StorageError
from newslake.tasks.settings import load_settings

if TYPE_CHECKING:
    import polars as pl

__all__ = ["compact", "health", "query", "reindex", "runs"]


def reindex(
    lake: LakeOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only compare the index with the tables; exit 1 if stale."),
    ] = False,
) -> None:
    """Rebuild the lake's index from its tables (runs keep it up to date; this is for repair)."""
    from newslake.tasks.lake.commit import lake_lock
    from newslake.tasks.lake.index import index_mismatch, rebuild_index
    from newslake.tasks.lake.store import Lake

    try:
        store = Lake.existing(lake or load_settings().lake)
        with lake_lock(store):
            if check:
                missing, extra = index_mismatch(store)
                console.print(f"index: {missing} rows missing, {extra} naming a day with no row")
                if missing:
                    raise typer.Exit(code=1)
                return
            rows = rebuild_index(store)
    except NewslakeError as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise fail(StorageError(exc)) from exc
    console.print(f"indexed {rows:,} rows of {store.url}")


def compact(lake: LakeOption = None) -> None:
    """Merge the files runs have added to each day partition into one (readable throughout)."""
    from newslake.tasks.lake.commit import lake_lock
    from newslake.tasks.lake.partitions import compact_lake
    from newslake.tasks.lake.store import Lake
    from newslake.tasks.lake.tables import SCHEMAS

    try:
        store = Lake.existing(lake or load_settings().lake)
        with lake_lock(store):
            done = compact_lake(store, list(SCHEMAS))
    except NewslakeError as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise fail(StorageError(exc)) from exc
    merged = ", ".join(f"{table} {days}" for table, days in done.items() if days) or "none"
    console.print(f"compacted days: {merged}")


def _from_lake[T](read: Callable[[str, T], pl.DataFrame], lake: str | None, arg: T) -> pl.DataFrame:
    """What `read` answers for the lake (the flag's, else the configured one), or exit 1 saying
    why not (no lake there, bad SQL, bad settings)."""
    try:
        return read(lake or load_settings().lake, arg)
    except NewslakeError as exc:
        raise fail(exc) from exc


def runs(
    lake: LakeOption = None,
    limit: Annotated[int, typer.Option(help="How many runs to list.")] = 20,
) -> None:
    """List the latest runs from the lake's own run log."""
    import polars as pl

    from newslake.tasks.lake.runlog import recent_runs

    frame = _from_lake(recent_runs, lake, limit)
    shown = frame.select(
        pl.col("started_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("started (UTC)"),
        "flow",
        "state",
        "run_id",
        "pages",
        "articles",
        "rejects",
        pl.col("seconds").round(1),
        "message",
    )
    with pl.Config(
        tbl_rows=limit,
        fmt_str_lengths=40,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
        tbl_cols=-1,
    ):
        sys.stdout.write(f"{shown}\n")


def query(
    sql: Annotated[
        str, typer.Argument(help="SQL over the views articles, rejects, entities, quotes.")
    ],
    lake: LakeOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    limit: Annotated[int, typer.Option(help="Rows shown by --format table.")] = 50,
) -> None:
    """Run SQL with DuckDB over the lake's tables."""

    from newslake.tasks.lake.query import run_query

    print_frame(_from_lake(run_query, lake, sql), format, limit)


class Failing(StrEnum):
    """Statuses `newslake health --fail-on` can exit 1 on."""

    drift = "drift"
    failing = "failing"
    quiet = "quiet"
    new = "new"


def health(
    lake: LakeOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    days: Annotated[int, typer.Option(help="Outlets seen in the lake's last N days.")] = 7,
    domain: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    fail_on: Annotated[
        str,
        typer.Option(help="Exit 1 when an outlet has one of these statuses (e.g. drift,failing)."),
    ] = "",
    plot: Annotated[
        Path | None, typer.Option(help="Draw articles and median words per day to this PNG.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows shown by --format table.")] = 100,
) -> None:
    """Which outlets are failing, since when, and why (each judged against its own history).

    Exits 0 whatever the statuses (it reports), unless --fail-on names one an outlet has.
    """
    import polars as pl

    from newslake.tasks.lake.health import health as judge

    wanted = {s.strip() for s in fail_on.split(",") if s.strip()}
    unknown = wanted - {s.value for s in Failing}
    if unknown:
        msg = f"--fail-on: unknown status {', '.join(sorted(unknown))} (choose from drift, "
        raise typer.BadParameter(msg + "failing, quiet, new)")
    try:
        settings = load_settings()
        verdicts, rows = judge(lake or settings.lake, settings.health, days=days, domain=domain)
    except NewslakeError as exc:
        raise fail(exc) from exc
    frame = (
        pl.DataFrame([asdict(v) for v in verdicts])
        if verdicts
        else pl.DataFrame(
            schema={"domain": pl.String, "status": pl.String, "since": pl.Date, "reason": pl.String}
        )
    )
    print_frame(frame, format, limit, text=90)
    if plot is not None:
        from newslake.tasks.lake.health_plot import draw

        draw(verdicts[:limit], rows, plot)
        console.print(f"plot written to {plot}", highlight=False)
    if any(v.status in wanted for v in verdicts):
        raise typer.Exit(1)
