"""Publication times: strict parsing, plausibility against the capture, safe day arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newslake.tasks.lake.daterange import around, shift
from newslake.tasks.settings import ExtractOptions
from newslake.tasks.text.dates import first_plausible, is_impossible, parse_timestamp

OPTIONS = ExtractOptions()
CAPTURED = datetime(2024, 5, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T10:00:00+0200", datetime(2024, 3, 1, 8, tzinfo=UTC)),
        ("2024-03-01T10:00:00.123Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01 10:00:00", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("yesterday", None),
        ("2019", None),  # a bare year is not a day
        ("2023-02", None),
        ("20230214", None),
        ("2023-02-30", None),  # impossible: refused, not read as 2023-02-01
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC: unrepresentable
        ("9999-12-31T23:00:00-05:00", None),  # after 9999 in UTC
        (None, None),
    ],
)
def test_parse_timestamp(value: str | None, expected: datetime | None) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (["0001-01-01"], None),
        (["9999-12-31"], None),
        (["2100-06-01"], None),  # after the capture
        (["1900-01-01"], None),
        (["1970-01-01T00:00:00Z"], None),
        (["1899-12-30"], None),
        (["1799-12-31"], None),  # before the earliest date configured
        (["2024-05-07T13:00:00Z"], datetime(2024, 5, 7, 13, tzinfo=UTC)),  # within 26 h
        (["2024-05-07T15:00:00Z"], None),  # 27 h after the capture
        # the first plausible candidate wins, in the page's order
        (
            ["0001-01-01", "2023-02-30", "2024-01-02", "2024-01-03"],
            datetime(2024, 1, 2, tzinfo=UTC),
        ),
    ],
)
def test_first_plausible(candidates: list[str], expected: datetime | None) -> None:
    assert first_plausible(candidates, captured=CAPTURED, options=OPTIONS) == expected


def test_a_page_without_a_capture_time_is_judged_against_now() -> None:
    assert first_plausible(["2100-01-01"], captured=None, options=OPTIONS) is None
    assert first_plausible(["2024-01-01"], captured=None, options=OPTIONS) is not None


def test_impossible_days_are_named() -> None:
    assert is_impossible("2023-02-30")
    assert is_impossible("2024-13-01T00:00:00Z")
    assert not is_impossible("2024-02-29")
    assert not is_impossible("2019")
    assert not is_impossible(None)


def test_day_arithmetic_stays_inside_the_date_type() -> None:
    assert shift(date(1, 1, 3), -7) == date.min
    assert shift(date(9999, 12, 30), 7) == date.max
    assert shift(date(2024, 1, 1), -1) == date(2023, 12, 31)
    assert around({date(1, 1, 1)}, 2) == {date(1, 1, 1), date(1, 1, 2), date(1, 1, 3)}


@given(st.dates(), st.integers(min_value=-(10**6), max_value=10**6))
def test_shift_never_raises(day: date, days: int) -> None:
    moved = shift(day, days)
    assert date.min <= moved <= date.max
    assert (moved - day).days == days or moved in (date.min, date.max)
