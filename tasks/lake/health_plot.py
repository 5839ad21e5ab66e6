"""The picture of `newslake health --plot`: articles and median words per day, per outlet.

A person notices a layout change faster in a line that drops than in a table. Each outlet shown
gets a row of two panels (articles per day, median words per day) and a dashed line on the day
its current status began, labelled with the status.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from newslake.tasks.lake.health import Verdict

__all__ = ["MAX_OUTLETS", "draw"]

# More rows than this make a picture nobody reads; the worst outlets come first.
MAX_OUTLETS = 12
_COLOURS = {"ok": "tab:green", "new": "tab:blue", "quiet": "tab:gray", "drift": "tab:orange",
            "failing": "tab:red"}  # fmt: skip


def draw(verdicts: Sequence[Verdict], rows: pl.DataFrame, path: Path) -> None:
    """Write the PNG for these outlets from the `publishers` rows they were judged on."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: a file, from a cron job or a CI step
    import matplotlib.pyplot as plt

    shown = list(verdicts[:MAX_OUTLETS])
    figure, axes = plt.subplots(
        max(len(shown), 1), 2, figsize=(11, 2.2 * max(len(shown), 1)), squeeze=False
    )
    for (left, right), verdict in zip(axes, shown, strict=False):
        days = rows.filter(pl.col("domain") == verdict.domain).sort("day")
        colour = _COLOURS[verdict.status]
        left.bar(days["day"].to_list(), days["articles"].to_list(), color=colour, width=0.8)
        left.set_ylabel("articles")
        right.plot(days["day"].to_list(), days["median_words"].to_list(), marker=".", color=colour)
        right.set_ylabel("median words")
        left.set_title(f"{verdict.domain}: {verdict.status}", loc="left", fontsize=9)
        right.set_title(verdict.reason[:80], loc="left", fontsize=7)
        for axis in (left, right):
            if verdict.status != "ok":
                axis.axvline(verdict.since, color=colour, linestyle="--", linewidth=1)
            axis.tick_params(axis="x", labelsize=7, rotation=30)
    if not shown:
        axes[0][0].text(0.5, 0.5, "no outlet in these days", ha="center")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
