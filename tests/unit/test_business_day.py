"""The business date is the calendar day in Beijing, on every part of the lending core."""

from __future__ import annotations

import datetime as dt

from mobilend.bootstrap.lending import build_lending
from mobilend.domain.business_day import business_date


class StoppedClock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


def test_the_business_date_turns_at_midnight_in_beijing_not_at_midnight_utc() -> None:
    # 05:56 on the 6th in Beijing is 21:56 on the 5th in UTC.
    assert business_date(dt.datetime(2026, 12, 5, 21, 56, tzinfo=dt.UTC)) == dt.date(2026, 12, 6)
    assert business_date(dt.datetime(2026, 12, 5, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 5)
    assert business_date(dt.datetime(2026, 12, 5, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 12, 6)
    # an instant without a zone is UTC, as the clock port says
    assert business_date(dt.datetime(2026, 12, 5, 21, 56)) == dt.date(2026, 12, 6)


def test_the_lending_core_dates_its_work_by_the_beijing_day() -> None:
    clock = StoppedClock(dt.datetime(2026, 12, 5, 21, 56, tzinfo=dt.UTC))
    lending = build_lending(in_memory=True, clock=clock)
    assert lending.today() == dt.date(2026, 12, 6)
