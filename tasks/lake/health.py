"""Publisher health: which outlets are failing, since when, and why.

Every news pipeline decays one outlet at a time: a new layout makes the extractor return
teasers, a bot wall goes up, a site starts answering 403. `publishers` (one row per outlet and
capture day, `tasks/lake/publishers.py`) holds the figures; this module judges them.

Each outlet is judged against its own history, never against other outlets. Its days are
walked in order, and each day with enough pages (`min_day_pages`) is compared with the outlet's
baseline: the days before it, within `history_days`, that were ok. A day is
- failing when most of its fetches failed (403, 404, 429, 5xx, robots.txt) or most of its pages
  were bot walls, or none of them gave an article: no history is needed to see that;
- new while the baseline holds fewer than `min_history_pages` pages;
- drift when its median word count fell below `words_ratio` of the baseline's (medians of the
  days' medians, so one odd day does not move it) and below the baseline's low decile (half its
  pages shorter than the outlet's usual shortest tenth), or the share of articles with a title,
  authors, a date or a marked body fell by `share_drop` or more;
- ok otherwise, and only then does it join the baseline (a broken layout never becomes the
  norm an outlet is judged by).
A day with too few pages keeps the status before it. An outlet with no page in the last
`quiet_days` days of the lake is quiet. `since` is the first day of the current status; the
reason is computed over all of the days since then.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl

from newslake.tasks.lake.daterange import shift
from newslake.tasks.lake.publishers import NO_OUTLET
from newslake.tasks.lake.query import connect
from newslake.tasks.lake.store import Lake, LakeLike
from newslake.tasks.settings import HealthOptions

__all__ = [
    "STATUSES", "Verdict", "health", "judge_outlet", "latest_day", "outlet_changes",
    "publisher_rows",
]  # fmt: skip

Status = Literal["ok", "drift", "failing", "new", "quiet"]
STATUSES: tuple[Status, ...] = ("failing", "drift", "quiet", "new", "ok")
# Fetch failures by what health calls them, and the publishers column that counts them.
_FAILURES = {
    "403": "fetch_403",
    "404": "fetch_404",
    "429": "fetch_429",
    "5xx": "fetch_5xx",
    "robots.txt disallow": "fetch_robots",
}
_SHARES = {
    "with_title": "a title",
    "with_authors": "authors",
    "with_date": "a publication date",
    "with_declared_body": "a marked body",
}
_COUNTS = (
    "pages", "articles", "captures", "rejects", "rejects_extract", "bot_walls",
    *_FAILURES.values(),
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """An outlet's status, since when, why, and the figures behind it."""

    domain: str
    status: Status
    since: date
    reason: str
    last_day: date
    days: int
    pages: int
    articles: int
    median_words: float | None
    history_median_words: float | None


def publisher_rows(
    lake: LakeLike,
    *,
    since: date | None,
    domains: Sequence[str] | None,
    days: Sequence[date] | None = None,
) -> pl.DataFrame:
    """The `publishers` rows from a day on (every day when None; only `days` when given), of
    these outlets or of all. Only the partitions from that day on, or of those days, are read."""
    start = min(days) if days else since or date(1, 1, 1)
    con = connect(lake, since=None if days else since, days=set(days) if days else None)
    try:
        where: list[str] = []
        params: list[object] = [start]
        if domains is not None:
            where.append("list_contains(?, domain)")
            params.append(list(domains))
        if days:
            where.append("list_contains(?, day)")
            params.append(list(days))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT * FROM publishers_from(?){clause} ORDER BY domain, day"
        return con.sql(sql, params=params).pl()
    finally:
        con.close()


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _total(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several days of one outlet as one: counts summed, per-article figures as medians."""
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in _COUNTS}
    total["median_words"] = _median([r["median_words"] for r in rows])
    total["low_decile_words"] = _median([r["low_decile_words"] for r in rows])
    for share in _SHARES:
        total[share] = _median([r[share] for r in rows])
    return total


def _judge(
    row: dict[str, Any], baseline: Sequence[dict[str, Any]], options: HealthOptions
) -> tuple[Status, str]:
    """One day (or several summed) against the outlet's baseline days."""
    pages = row["pages"]
    failed = {name: row[column] for name, column in _FAILURES.items()}
    if sum(failed.values()) >= options.failing_share * pages:
        worst = max(failed, key=lambda name: failed[name])
        return "failing", f"{worst} on {failed[worst]} of {pages} fetches"
    if row["bot_walls"] >= options.wall_share * pages:
        return "failing", f"bot wall: {row['bot_walls']} of {pages} pages are walls, not articles"
    if row["articles"] == 0:
        return "failing", f"no article from {pages} pages ({row['rejects_extract']} had no text)"
    history = sum(r["pages"] for r in baseline)
    if history < options.min_history_pages:
        return (
            "new",
            f"{history} pages of history, fewer than the {options.min_history_pages} needed",
        )
    usual = _median([r["median_words"] for r in baseline])
    short = _median([r["low_decile_words"] for r in baseline])
    words = row["median_words"]
    # Half the day's pages shorter than the outlet's usual shortest tenth: by chance, with 10
    # pages, about once in 600 days; after a layout change that returns teasers, every day.
    if (
        usual is not None
        and short is not None
        and words is not None
        and words < options.words_ratio * usual
        and words < short
    ):
        return "drift", f"median words fell from {usual:.0f} to {words:.0f}"
    for share, what in _SHARES.items():
        before, now = _median([r[share] for r in baseline]), row[share]
        if before is not None and now is not None and before - now >= options.share_drop:
            if now == 0:
                return "drift", f"no {what} on any article (was {before:.0%})"
            return "drift", f"{what} on {now:.0%} of articles, down from {before:.0%}"
    return "ok", f"median words {words or 0:.0f} against its usual {usual or 0:.0f}"


def judge_outlet(
    domain: str, rows: Sequence[dict[str, Any]], *, today: date, options: HealthOptions
) -> Verdict:
    """The verdict on one outlet from its `publishers` rows (sorted by day)."""
    baseline: list[dict[str, Any]] = []
    judged: list[tuple[dict[str, Any], Status, list[dict[str, Any]]]] = []
    for row in rows:
        baseline = [b for b in baseline if b["day"] >= shift(row["day"], -options.history_days)]
        if row["pages"] < options.min_day_pages and judged:
            judged.append((row, judged[-1][1], judged[-1][2]))  # too few pages: status stays
            continue
        status, _ = _judge(row, baseline, options)
        judged.append((row, status, list(baseline)))
        if status in ("ok", "new"):
            baseline.append(row)  # a drifting or failing day never becomes the norm
    last_day = rows[-1]["day"]
    status = judged[-1][1]
    start = len(judged) - 1
    while start > 0 and judged[start - 1][1] == status:
        start -= 1
    since_rows = [r for r, _, _ in judged[start:]]
    total = _total(since_rows)
    _, reason = _judge(total, judged[start][2], options)
    since = since_rows[0]["day"]
    reason = f"{reason} since {since}" if status != "new" else reason
    if last_day < shift(today, -options.quiet_days):
        status, since = "quiet", shift(last_day, 1)
        reason = f"no page since {last_day}"
    return Verdict(
        domain=domain,
        status=status,
        since=since,
        reason=reason,
        last_day=last_day,
        days=len(rows),
        pages=sum(r["pages"] for r in rows),
        articles=sum(r["articles"] for r in rows),
        median_words=total["median_words"],
        history_median_words=_median([r["median_words"] for r in judged[start][2]]),
    )


def health(
    lake: LakeLike,
    options: HealthOptions,
    *,
    days: int,
    domain: str | None = None,
    domains: Sequence[str] | None = None,
) -> tuple[list[Verdict], pl.DataFrame]:
    """Every outlet seen in the lake's last `days` days (or just `domain`, or `domains`),
    judged, worst first; and the `publishers` rows they were judged on (history included).
    Pages with no known outlet (a file's page rejected before its URL was read) are not one."""
    lake = lake if isinstance(lake, Lake) else Lake.existing(lake)
    today = latest_day(lake)
    if today is None:
        return [], pl.DataFrame()
    start = shift(today, -(days + options.history_days))
    wanted = [domain] if domain is not None else domains
    rows = publisher_rows(lake, since=start, domains=wanted).filter(pl.col("domain") != NO_OUTLET)
    verdicts = []
    for (name,), part in rows.group_by("domain", maintain_order=True):
        part_rows = part.sort("day").to_dicts()
        if part_rows[-1]["day"] < shift(today, -days):
            continue  # nothing in the days asked about
        verdicts.append(judge_outlet(str(name), part_rows, today=today, options=options))
    order = {s: i for i, s in enumerate(STATUSES)}
    verdicts.sort(key=lambda v: (order[v.status], v.domain))
    return verdicts, rows


def latest_day(lake: Lake) -> date | None:
    """The lake's last capture or reject day, from the partition listing (no file is read)."""
    days = [lake.day_of(f) for t in ("captures", "rejects") for f in lake.partition_files(t)]
    return max(days, default=None)


# What the runs have judged: each outlet's recent day rows and its last status, so a run reads
# the partitions of its own days only, not its outlets' whole history.
_DAYS_FILE = ("_health", "days.parquet")
_STATUS_FILE = ("_health", "status.parquet")
_STATUS_SCHEMA = pl.Schema(
    {"domain": pl.String(), "status": pl.String(), "since": pl.Date(), "reason": pl.String()}
)


def outlet_changes(
    lake: Lake, options: HealthOptions, domains: Sequence[str], days: Sequence[date]
) -> list[dict[str, Any]]:
    """Judge the outlets a run touched and say which of them changed status.

    `LAKE/_health/days.parquet` keeps the `publishers` rows of the outlets runs have touched,
    for the trailing days health judges by; a run recomputes the rows of its own outlets and
    days only (the first run on a lake without the file reads its outlets' trailing days once)
    and keeps `status.parquet`, the status each outlet had after the last run that touched it.
    An outlet seen for the first time counts as changed only when it starts out drifting or
    failing. Both files lie outside every table.
    """
    wanted = sorted({d for d in domains if d and d != NO_OUTLET})
    if not wanted or not days:
        return []
    keep = options.history_days + options.quiet_days + 1
    stored = lake.read_optional(lake.path(*_DAYS_FILE))
    if stored is None:
        first, last = shift(min(days), -keep), max(days)
        trailing = [shift(first, n) for n in range((last - first).days + 1)]
        fresh = publisher_rows(lake, since=None, domains=wanted, days=trailing)
        stored = fresh.clear()
    else:
        fresh = publisher_rows(lake, since=None, domains=wanted, days=sorted(set(days)))
    touched = pl.DataFrame({"domain": wanted}).join(
        pl.DataFrame({"day": sorted(set(days))}, schema={"day": pl.Date}), how="cross"
    )
    kept = stored.join(touched, on=["domain", "day"], how="anti")
    rows = pl.concat([kept, fresh.select(stored.columns)], how="vertical_relaxed").sort(
        "domain", "day"
    )
    today: date = max([*rows["day"].to_list(), *days])
    rows = rows.filter(pl.col("day") >= shift(today, -keep))
    lake.write(rows, lake.path(*_DAYS_FILE))
    before = lake.read_optional(lake.path(*_STATUS_FILE))
    known = {} if before is None else {r["domain"]: r for r in before.to_dicts()}
    changes = []
    ours = rows.filter(pl.col("domain").is_in(wanted))
    for (name,), part in ours.group_by("domain", maintain_order=True):
        verdict = judge_outlet(str(name), part.to_dicts(), today=today, options=options)
        previous = known.get(verdict.domain, {}).get("status")
        if verdict.status != previous and (previous or verdict.status in ("drift", "failing")):
            changes.append(
                {
                    "domain": verdict.domain,
                    "before": previous,
                    "status": verdict.status,
                    "since": verdict.since.isoformat(),
                    "reason": verdict.reason,
                }
            )
        known[verdict.domain] = {
            "domain": verdict.domain,
            "status": verdict.status,
            "since": verdict.since,
            "reason": verdict.reason,
        }
    frame = pl.DataFrame(list(known.values()), schema=_STATUS_SCHEMA, orient="row")
    lake.write(frame, lake.path(*_STATUS_FILE))
    return changes
