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
  days' medians, so one odd day does not move it), or the share of articles with a title,
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
from datetime import date, timedelta
from typing import Any, Literal

import polars as pl

from tasks.lake.publishers import NO_OUTLET
from tasks.lake.query import connect
from tasks.lake.store import Lake, LakeLike
from tasks.settings import HealthOptions

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

    def row(self) -> dict[str, Any]:
        """The verdict as a `newslake health` row."""
        return {
            "domain": self.domain,
            "status": self.status,
            "since": self.since,
            "reason": self.reason,
            "last_day": self.last_day,
            "days": self.days,
            "pages": self.pages,
            "articles": self.articles,
            "median_words": self.median_words,
            "history_median_words": self.history_median_words,
        }


def publisher_rows(
    lake: LakeLike, *, since: date | None, domains: Sequence[str] | None
) -> pl.DataFrame:
    """The `publishers` rows from a day on (all when None), of these outlets or of all."""
    con = connect(lake)
    try:
        where: list[str] = []
        params: list[object] = []
        if since is not None:
            where.append("day >= ?")
            params.append(since)
        if domains is not None:
            where.append("list_contains(?, domain)")
            params.append(list(domains))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT * FROM publishers{clause} ORDER BY domain, day"
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
    words = row["median_words"]
    if usual is not None and words is not None and words < options.words_ratio * usual:
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
        baseline = [b for b in baseline if b["day"] >= row["day"] - timedelta(options.history_days)]
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
    if last_day < today - timedelta(options.quiet_days):
        status, since = "quiet", last_day + timedelta(1)
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
    start = today - timedelta(days + options.history_days)
    wanted = [domain] if domain is not None else domains
    rows = publisher_rows(lake, since=start, domains=wanted).filter(pl.col("domain") != NO_OUTLET)
    verdicts = []
    for (name,), part in rows.group_by("domain", maintain_order=True):
        part_rows = part.sort("day").to_dicts()
        if part_rows[-1]["day"] < today - timedelta(days):
            continue  # nothing in the days asked about
        verdicts.append(judge_outlet(str(name), part_rows, today=today, options=options))
    order = {s: i for i, s in enumerate(STATUSES)}
    verdicts.sort(key=lambda v: (order[v.status], v.domain))
    return verdicts, rows


def latest_day(lake: Lake) -> date | None:
    """The lake's last capture or reject day, from the partition listing (no file is read)."""
    days = [lake.day_of(f) for t in ("captures", "rejects") for f in lake.partition_files(t)]
    return max(days, default=None)


# The statuses the last run left, so the next one can say which outlets changed.
_STATUS_FILE = ("_health", "status.parquet")
_STATUS_SCHEMA = pl.Schema(
    {"domain": pl.String(), "status": pl.String(), "since": pl.Date(), "reason": pl.String()}
)


def outlet_changes(
    lake: Lake, options: HealthOptions, domains: Sequence[str]
) -> list[dict[str, Any]]:
    """Judge the outlets a run touched and say which of them changed status.

    The statuses are kept in `LAKE/_health/status.parquet` (outside every table), read and
    rewritten once per run, for the run's outlets only: the cost grows with what the run read,
    not with the lake. An outlet seen for the first time counts as changed only when it starts
    out drifting or failing.
    """
    wanted = sorted({d for d in domains if d and d != NO_OUTLET})
    if not wanted:
        return []
    path = lake.path(*_STATUS_FILE)
    before = lake.read_optional(path)
    known = {} if before is None else {r["domain"]: r for r in before.to_dicts()}
    verdicts, _ = health(lake, options, days=options.quiet_days + 1, domains=wanted)
    changes = []
    for verdict in verdicts:
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
    lake.write(pl.DataFrame(list(known.values()), schema=_STATUS_SCHEMA, orient="row"), path)
    return changes
