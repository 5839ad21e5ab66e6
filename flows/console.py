"""What every `newslake` command shares: its consoles, its error exit, the lake option and
the printing of a result frame."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Format", "LakeOption", "console", "err", "fail", "print_frame"]

console = Console()
err = Console(stderr=True)

LakeOption = Annotated[str | None, typer.Option(help="Lake root or URL (default: lake.root).")]


class Format(StrEnum):
    """Output formats of `newslake query`."""

    table = "table"
    csv = "csv"
    json = "json"


def fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(code=1)


def print_frame(frame: pl.DataFrame, format: Format, limit: int, *, text: int = 60) -> None:
    """A result on standard output as a table, CSV or JSON."""
    import polars as pl

    if format is Format.csv:
        sys.stdout.write(frame.write_csv())
    elif format is Format.json:
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(
            tbl_rows=limit, fmt_str_lengths=text, tbl_width_chars=200, tbl_hide_dataframe_shape=True
        ):
            sys.stdout.write(f"{frame}\n")
