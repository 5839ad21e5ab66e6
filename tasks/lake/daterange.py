"""Day arithmetic that stays inside the `date` type: a lake's days must never fail a commit.

Publication dates are checked for plausibility when a page is extracted (tasks/text/dates.py),
but a lake written before that check, or a setting like `window_days = 100000`, can still put a
day near year 1 or 9999 where `day + timedelta(...)` raises OverflowError. Windows and cut-offs
computed here are clipped to the type's range instead: a window past year 9999 simply ends there.
"""

from __future__ import annotations

from datetime import date

__all__ = ["around", "shift"]


def shift(day: date, days: int) -> date:
    """`day` moved by `days` (either sign), clipped to date.min and date.max."""
    target = day.toordinal() + days
    return date.fromordinal(min(max(target, date.min.toordinal()), date.max.toordinal()))


def around(days: set[date], width: int) -> set[date]:
    """The days at most `width` days from one of these (inside the type's range)."""
    found: set[date] = set()
    for day in days:
        start, end = shift(day, -width).toordinal(), shift(day, width).toordinal()
        found.update(date.fromordinal(o) for o in range(start, end + 1))
    return found
