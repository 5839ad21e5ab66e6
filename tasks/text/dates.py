"""Publication and modification times: parsed strictly, kept only when plausible.

Publishers' templates fill date fields with whatever their CMS holds: `0001-01-01` (the USA
Today network's empty value), `9999-12-31`, the epoch, `1900-01-01`, a date next year, or an
impossible `2023-02-30`. Such a value is not a publication time; kept, it sends the article to a
partition of year 1 and breaks every date computation downstream. So a date is kept only when it
is plausible — not after the page was captured (give or take time zones), not before the
earliest date configured, not a known placeholder — and an impossible one is refused, never
repaired. Where a page offers several candidates, the first plausible one wins. The bounds live
in `config/extract.toml` with the reason for each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from newslake.tasks.settings import ExtractOptions

__all__ = [
    "date_range",
    "first_plausible",
    "is_impossible",
    "is_plausible",
    "parse_timestamp",
    "plausible_time",
]

_CALENDAR_DAY = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO-8601 date or timestamp as an aware UTC datetime; naive values are taken as UTC.

    Anything else is None: a bare year, a month without a day, an impossible day (2023-02-30),
    or a time that cannot be moved to UTC (year 1 east of Greenwich) — none of them is guessed at.
    """
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # +0100 -> +01:00
    text = re.sub(r"\.\d+(?=[+-]\d{2}:\d{2}$|$)", "", text)  # fractions of a second
    if not _CALENDAR_DAY.match(text):
        return None  # fromisoformat also reads "20230214" and week dates: not what pages mean
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def is_impossible(value: str | None) -> bool:
    """Whether `value` names a calendar day that does not exist (2023-02-30, 2024-13-01).

    A page that declares one gets no date at all: htmldate would read such a value as the
    month's first day, a repair that looks like a fact.
    """
    match = _CALENDAR_DAY.match(value or "")
    if match is None:
        return False
    try:
        date(*map(int, match.groups()))
    except ValueError:
        return True
    return False


def _placeholders(options: ExtractOptions) -> set[date]:
    return {date.fromisoformat(d) for d in options.placeholder_dates}


def _latest(captured: datetime | None, options: ExtractOptions) -> datetime:
    """The latest plausible time for a page captured then (now, for a page with no capture
    time: nothing is published in the future)."""
    return (captured or datetime.now(UTC)) + timedelta(hours=options.future_tolerance_hours)


def date_range(captured: datetime | None, options: ExtractOptions) -> tuple[date, date]:
    """The days a page captured then can have been published on (for htmldate's search)."""
    return date.fromisoformat(options.earliest_date), _latest(captured, options).date()


def is_plausible(when: datetime, *, captured: datetime | None, options: ExtractOptions) -> bool:
    """Whether `when` can be a publication (or modification) time of a page captured then."""
    latest = _latest(captured, options)
    return (
        when.date() >= date.fromisoformat(options.earliest_date)
        and when <= latest
        and when.date() not in _placeholders(options)
    )


def plausible_time(
    when: datetime | None, *, captured: datetime | None, options: ExtractOptions
) -> datetime | None:
    """`when` if it is plausible, else None."""
    if when is None or not is_plausible(when, captured=captured, options=options):
        return None
    return when


def first_plausible(
    candidates: Iterable[str | None], *, captured: datetime | None, options: ExtractOptions
) -> datetime | None:
    """The first candidate that parses and is plausible, in the page's order of trust."""
    for value in candidates:
        when = plausible_time(parse_timestamp(value), captured=captured, options=options)
        if when is not None:
            return when
    return None
