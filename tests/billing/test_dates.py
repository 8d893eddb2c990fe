"""Billing-date arithmetic: exact examples, then properties over random schedules."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.billing.dates import jst_date, next_billing_date


def series(start: date, n: int, *, months: int = 1, day: int) -> list[date]:
    out = [start]
    for _ in range(n):
        out.append(next_billing_date(out[-1], interval_months=months, billing_day=day))
    return out


def test_monthly_on_day_28_through_a_year():
    assert series(date(2023, 12, 28), 3, day=28) == [
        date(2023, 12, 28),
        date(2024, 1, 28),
        date(2024, 2, 28),
        date(2024, 3, 28),
    ]


def test_application_day_31_clamps_to_month_ends_and_comes_back_to_31():
    # The anchor day is never taken from the previous (clamped) date: no drift to the 29th/30th.
    assert series(date(2024, 1, 31), 6, day=31) == [
        date(2024, 1, 31),
        date(2024, 2, 29),  # leap year
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
    ]


def test_non_leap_february():
    assert next_billing_date(date(2023, 1, 31), interval_months=1, billing_day=31) == date(2023, 2, 28)
    assert next_billing_date(date(2023, 1, 29), interval_months=1, billing_day=29) == date(2023, 2, 28)
    assert next_billing_date(date(2025, 1, 30), interval_months=1, billing_day=30) == date(2025, 2, 28)


def test_leap_day_anchor_every_twelve_months():
    assert series(date(2024, 2, 29), 4, months=12, day=29) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_every_three_months_crosses_the_year():
    assert series(date(2024, 11, 5), 3, months=3, day=5) == [
        date(2024, 11, 5),
        date(2025, 2, 5),
        date(2025, 5, 5),
        date(2025, 8, 5),
    ]


def test_a_fixed_date_set_by_staff_returns_to_the_billing_day():
    # 次回課金日 moved by hand to the 20th; the schedule (day 1) takes over from the following month.
    assert next_billing_date(date(2019, 8, 20), interval_months=1, billing_day=1) == date(2019, 9, 1)


def test_december_to_january():
    assert next_billing_date(date(2024, 12, 10), interval_months=1, billing_day=10) == date(2025, 1, 10)
    assert next_billing_date(date(2024, 12, 10), interval_months=2, billing_day=10) == date(2025, 2, 10)


@pytest.mark.parametrize(("months", "day"), [(0, 1), (121, 1), (1, 0), (1, 32)])
def test_invalid_schedules_are_refused(months, day):
    with pytest.raises(ValueError, match="must be"):
        next_billing_date(date(2024, 1, 1), interval_months=months, billing_day=day)


def test_jst_date_uses_tokyo_midnight():
    assert jst_date(datetime(2024, 1, 31, 14, 59, tzinfo=UTC)) == date(2024, 1, 31)
    assert jst_date(datetime(2024, 1, 31, 15, 0, tzinfo=UTC)) == date(2024, 2, 1)
    with pytest.raises(ValueError, match="aware"):
        jst_date(datetime(2024, 1, 31, 15, 0))


# --------------------------------------------------------------------------- properties

starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
fixed_days = st.integers(min_value=1, max_value=28)
anchor_days = st.integers(min_value=1, max_value=31)
intervals = st.integers(min_value=1, max_value=24)


def month_index(d: date) -> int:
    return d.year * 12 + d.month


@given(start=starts, day=anchor_days, months=intervals)
def test_strictly_increasing_and_exactly_n_months_apart(start, day, months):
    dates = series(start, 30, months=months, day=day)
    assert all(a < b for a, b in itertools.pairwise(dates))
    assert all(month_index(b) - month_index(a) == months for a, b in itertools.pairwise(dates))


@given(start=starts, day=fixed_days, months=intervals)
def test_always_on_the_billing_day_when_it_is_1_to_28(start, day, months):
    assert all(d.day == day for d in series(start, 30, months=months, day=day)[1:])


@given(start=starts, day=anchor_days)
def test_anchor_day_or_the_last_day_of_a_shorter_month(start, day):
    for d in series(start, 30, day=day)[1:]:
        last = ((d.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
        assert d.day == min(day, last)


@given(start=starts, day=anchor_days)
def test_monthly_never_skips_a_month(start, day):
    dates = series(start, 40, day=day)
    months = [month_index(d) for d in dates]
    assert months == list(range(months[0], months[0] + len(dates)))


@given(start=starts, day=anchor_days, months=intervals)
def test_gap_is_bounded(start, day, months):
    # Never less than (N months − 3 days) nor more than (N months + 3 days) apart, after the first step.
    dates = series(start, 12, months=months, day=day)[1:]
    for a, b in itertools.pairwise(dates):
        assert 28 * months - 3 <= (b - a).days <= 31 * months + 3
