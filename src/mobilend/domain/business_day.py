"""The business date: the calendar day in Beijing, for every part of the lending core.

Loans are disbursed, accrued, due and closed by the borrower's and the banks' calendar
day (China keeps UTC+8 all year, no daylight saving). A UTC date would turn at 08:00 in
Beijing: a loan paid out at 05:56 on the 6th would be booked on the 5th, a date whose end
of day had already run.
"""

from __future__ import annotations

import datetime as dt

BUSINESS_ZONE = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def business_date(instant: dt.datetime) -> dt.date:
    """The business date of ``instant`` (an instant without a zone is taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(BUSINESS_ZONE).date()


def business_today() -> dt.date:
    """Today's business date by the system clock (command-line defaults)."""
    return business_date(dt.datetime.now(dt.UTC))
