"""Billing-date arithmetic (課金日・契約更新日の計算) — all of it, in one function.

Every date the billing app stores or compares is a JST calendar date: a cycle is due when its date is on
or before *today in Asia/Tokyo* (:func:`jst_date`), whatever the server's time zone.

**Why :func:`next_billing_date` is dangerous to change.** Each stored ``次回課金日`` was produced by it,
and the cycle key ``(subscription, cycle date)`` — which is also the provider's ``shop_transaction_no``
(``SUB-…-YYYYMMDD``) — is derived from its result. If a change moves even one date (say Jan 31 + 1 month
from 02-29 to 03-01, or starts drifting 31 → 28 → 28 after February), running workers on the old and
new code would compute *different keys for the same cycle*: the unique constraint and the provider's
duplicate check would no longer recognise the cycle as already charged, and customers would be charged
twice in one month — or a month would silently be skipped. Changing it needs a data migration of every
``next_billing_on`` / ``next_renewal_on`` and a stop of all workers; the property tests in
``tests/billing/test_dates.py`` pin its behaviour down.

The rules:

- the result is in the calendar month ``interval_months`` after the month of ``previous`` (never
  "previous + 30 days": month lengths differ);
- on ``billing_day`` — 1–28 for the shop's 毎月の課金日, or 1–31 when the subscription keeps the
  day of its application date (申込日基準); a day the month does not have becomes that month's last day
  (Jan 31 → Feb 28, or Feb 29 in a leap year → Mar 31);
- the day is always taken from ``billing_day``, **never from ``previous``**: after a short month the
  schedule goes back to day 31 instead of drifting to the 28th for ever.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

from kessai.common.jst import JST

MIN_INTERVAL_MONTHS = 1
MAX_INTERVAL_MONTHS = 120
MAX_FIXED_BILLING_DAY = 28  # 毎月の課金日: 1〜28 (every month has them)
MAX_ANCHOR_DAY = 31  # 申込日基準: the application date's own day, clamped to the month's last day


def next_billing_date(previous: date, *, interval_months: int, billing_day: int) -> date:
    """The cycle date that follows ``previous``: ``interval_months`` calendar months later, on
    ``billing_day`` (clamped to the last day of a shorter month). Also used for 次回契約更新日.

    >>> next_billing_date(date(2024, 1, 31), interval_months=1, billing_day=31)
    datetime.date(2024, 2, 29)
    >>> next_billing_date(date(2024, 2, 29), interval_months=1, billing_day=31)
    datetime.date(2024, 3, 31)
    """
    if not MIN_INTERVAL_MONTHS <= interval_months <= MAX_INTERVAL_MONTHS:
        raise ValueError(f"interval_months must be {MIN_INTERVAL_MONTHS}–{MAX_INTERVAL_MONTHS}, got {interval_months}")
    if not 1 <= billing_day <= MAX_ANCHOR_DAY:
        raise ValueError(f"billing_day must be 1–{MAX_ANCHOR_DAY}, got {billing_day}")
    month_index = previous.year * 12 + (previous.month - 1) + interval_months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(billing_day, last_day))


def jst_date(moment: datetime) -> date:
    """The JST calendar date of an aware datetime (2024-01-31T15:30Z is 2024-02-01 in Tokyo)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(JST).date()
