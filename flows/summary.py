"""What a run prints when it ends: its summary table, and its exit status.

Imported by the CLI at start-up, so the flow modules it describes are imported only when a run
has ended (importing them pulls in Prefect, which the CLI loads while the server boots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from newslake.flows.report import RunSummary

__all__ = ["finish", "print_summary"]

console = Console()
err = Console(stderr=True)


def print_summary(summary: RunSummary) -> None:
    """The run's summary table on stdout; a warning on stderr if its page accounting does not
    add up (every page read is a capture, a reject or a page rejected twice)."""
    from newslake.tasks.lake.commit import CommitStats

    articles = summary.tables.get("articles", CommitStats())
    table = Table(title=f"run {summary.run_id}", show_header=False, box=None)
    table.add_row("lake", summary.lake)
    if summary.note:
        table.add_row("note", summary.note)
    table.add_row("pages read", f"{summary.pages:,}")
    table.add_row("captures", f"{summary.captures:,}  (pages that yielded an article)")
    table.add_row(
        "articles",
        f"{summary.articles:,}  (new {articles.new:,}, updated {articles.updated:,}, "
        f"unchanged {articles.unchanged:,})",
    )
    by_stage = ", ".join(f"{stage} {n:,}" for stage, n in sorted(summary.rejects.items()))
    table.add_row("rejects", f"{summary.rejected:,}" + (f"  ({by_stage})" if by_stage else ""))
    table.add_row("rejected twice", f"{summary.duplicates:,}  (the same page given twice)")
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
    if web.render is not None:
        r = web.render
        table.add_row(
            "rendered",
            f"{r.pages - r.failed:,} pages ({r.failed:,} failed); browser requests {r.requests:,}"
            f", {r.blocked_types:,} images/fonts/styles not fetched, {r.refused:,} refused by "
            f"the network guard",
        )
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    table.add_row("time", f"{summary.seconds:.1f} s ({rate:.1f} pages/s)")
    for day, why in sorted(summary.failed_days.items()):
        table.add_row(f"day {day} FAILED", why)
    for line in summary.outlet_lines():
        table.add_row("outlet changed", line)
    if summary.unreported:
        table.add_row("prefect", f"{summary.unreported} (the lake and its run log are complete)")
    console.print(table)
    if summary.pages != summary.captures + summary.rejected + summary.duplicates:
        err.print("[bold red]page accounting does not add up: this is a bug, please report it[/]")


def finish(summary: object) -> None:
    """Print a run's summary; exit 1 when a part of it (a backfill day) failed."""
    from newslake.flows.report import RunSummary

    assert isinstance(summary, RunSummary)
    print_summary(summary)
    if getattr(summary, "failed_days", None):
        raise typer.Exit(code=1)
