"""Day counts, repayment frequencies and due dates.

Rates are annual Decimal fractions; a day count turns two dates into the fraction
of a year between them. A frequency is "every N days / weeks / months"; monthly
due dates keep the anchor day of the month (31 Jan → 29 Feb → 31 Mar → 30 Apr),
so a short month never makes the later dates drift.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


class DayCount(enum.StrEnum):
    THIRTY_360 = "30/360"
    ACT_360 = "ACT/360"
    ACT_365 = "ACT/365"


class PeriodUnit(enum.StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def days_30_360(start: date, end: date) -> int:
    """Days between two dates on a 30-day-month calendar.

    A date on the 31st or on the last day of its month (28/29 Feb too) counts as
    the 30th, so a whole calendar month is always 30 days, including February
    (this is 30E/360 "ISDA"). Mid-month stubs follow the usual 30E/360 arithmetic.
    """
    d1 = 30 if _is_month_end(start) or start.day == 31 else start.day
    d2 = 30 if _is_month_end(end) or end.day == 31 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def day_count_days(start: date, end: date, day_count: DayCount) -> int:
    """Days in [start, end) as the convention counts them."""
    if day_count is DayCount.THIRTY_360:
        return days_30_360(start, end)
    return (end - start).days


def days_in_year(day_count: DayCount) -> int:
    return 365 if day_count is DayCount.ACT_365 else 360


def year_fraction(start: date, end: date, day_count: DayCount) -> Decimal:
    """Fraction of a year from start to end under the day count (exact Decimal)."""
    if end < start:
        raise ValueError("end date is before start date")
    return Decimal(day_count_days(start, end, day_count)) / Decimal(days_in_year(day_count))


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """Move by whole months, keeping ``anchor_day`` (default: day's own day).

    The anchor is clipped to the month's length: anchor 31 gives 29 Feb 2024,
    28 Feb 2025, 31 Mar, 30 Apr.
    """
    anchor = day.day if anchor_day is None else anchor_day
    if not 1 <= anchor <= 31:
        raise ValueError("anchor day must be between 1 and 31")
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Frequency:
    """Repayment every ``every`` units.

    ``periods_per_year`` is what the APR rule multiplies the periodic rate by:
    12/every for months, 52/every for weeks (the usual 52-week year) and
    365/every for days (a calendar year, matching the ACT/365 basis).
    """

    every: int = 1
    unit: PeriodUnit = PeriodUnit.MONTHS

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError("frequency 'every' must be a whole number of at least 1")
        object.__setattr__(self, "unit", PeriodUnit(self.unit))

    @classmethod
    def monthly(cls) -> Frequency:
        return cls(1, PeriodUnit.MONTHS)

    @property
    def periods_per_year(self) -> Decimal:
        per_year = {PeriodUnit.MONTHS: 12, PeriodUnit.WEEKS: 52, PeriodUnit.DAYS: 365}[self.unit]
        return Decimal(per_year) / Decimal(self.every)

    @property
    def nominal_days(self) -> int:
        """Length of one period on a 30/360 calendar (30 days a month, 7 a week)."""
        unit_days = {PeriodUnit.MONTHS: 30, PeriodUnit.WEEKS: 7, PeriodUnit.DAYS: 1}[self.unit]
        return unit_days * self.every

    def add(self, day: date, n: int = 1, anchor_day: int | None = None) -> date:
        """The date ``n`` periods after ``day`` (months keep ``anchor_day``)."""
        if self.unit is PeriodUnit.MONTHS:
            return add_months(day, n * self.every, anchor_day)
        step_days = self.every * (7 if self.unit is PeriodUnit.WEEKS else 1)
        return day + timedelta(days=n * step_days)

    def __str__(self) -> str:
        return f"every {self.every} {self.unit.value}"


def due_dates(
    first_due: date, frequency: Frequency, count: int, anchor_day: int | None = None
) -> list[date]:
    """``count`` due dates from ``first_due``, each computed from the first.

    Every date is derived from ``first_due`` directly (never from the previous
    date), with the anchor day (default ``first_due.day``), so dates never drift.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    return [frequency.add(first_due, k, anchor_day) for k in range(count)]


def period_year_fraction(
    start: date, end: date, day_count: DayCount, frequency: Frequency, regular: bool
) -> Decimal:
    """Year fraction for interest on one schedule period.

    Under 30/360 a regular period (exactly one frequency step) is its nominal
    length — 30 days a month, 7 a week — so every month is equal whatever the
    calendar says; an irregular first period is counted by the 30E/360 rule.
    ACT conventions always count the actual days.
    """
    if day_count is DayCount.THIRTY_360 and regular:
        return Decimal(frequency.nominal_days) / Decimal(360)
    return year_fraction(start, end, day_count)
