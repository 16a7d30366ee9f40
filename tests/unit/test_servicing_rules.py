"""Servicing rules without a database: quiet hours and time zones, retry pauses, the
behaviour scorecard, transfer references, and which business date runs next."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from mobilend.app.servicing.business_dates import (
    BusinessDate,
    after_close,
    request_business_date,
)
from mobilend.app.servicing.early_warning import BehaviourSignals, behaviour_score, days_to_roll
from mobilend.app.servicing.notifications import next_allowed, next_day_start
from mobilend.app.servicing.settings import EarlyWarningWeights, MessagingSettings, QuietHours
from mobilend.app.servicing.transfers import loan_ids_in, repayment_reference

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
QUIET = QuietHours()


def local(day: dt.date, hour: int, minute: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def test_quiet_hours_wrap_midnight() -> None:
    assert QUIET.contains(dt.time(21, 0)) and QUIET.contains(dt.time(23, 59))
    assert QUIET.contains(dt.time(0, 0)) and QUIET.contains(dt.time(7, 59))
    assert not QUIET.contains(dt.time(8, 0)) and not QUIET.contains(dt.time(20, 59))
    daytime = QuietHours(dt.time(12, 0), dt.time(14, 0))
    assert daytime.contains(dt.time(13, 0)) and not daytime.contains(dt.time(14, 0))


def test_a_message_due_in_quiet_hours_waits_for_their_end_in_the_borrowers_zone() -> None:
    day = dt.date(2026, 3, 10)
    evening = local(day, 22, 30, SHANGHAI)
    assert next_allowed(evening, "Asia/Shanghai", QUIET) == local(
        day + dt.timedelta(days=1), 8, 0, SHANGHAI
    )
    early = local(day, 6, 15, SHANGHAI)
    assert next_allowed(early, "Asia/Shanghai", QUIET) == local(day, 8, 0, SHANGHAI)
    noon = local(day, 12, 0, SHANGHAI)
    assert next_allowed(noon, "Asia/Shanghai", QUIET) == noon
    # 22:30 in Shanghai is 09:30 in New York: no wait there.
    assert next_allowed(evening, "America/New_York", QUIET) == evening
    # Across the start of daylight saving time (8 Mar 2026 in New York): 08:00 wall time.
    before_dst = local(dt.date(2026, 3, 7), 23, 0, NEW_YORK)
    assert next_allowed(before_dst, "America/New_York", QUIET).astimezone(NEW_YORK) == local(
        dt.date(2026, 3, 8), 8, 0, NEW_YORK
    )
    assert next_day_start(noon, "Asia/Shanghai", QUIET) == local(
        day + dt.timedelta(days=1), 8, 0, SHANGHAI
    )


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)),
       st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata"]))  # fmt: skip
def test_the_next_allowed_moment_is_never_in_quiet_hours_nor_in_the_past(
    naive: dt.datetime, zone: str
) -> None:
    now = naive.replace(tzinfo=dt.UTC)
    allowed = next_allowed(now, zone, QUIET)
    assert allowed >= now
    assert not QUIET.contains(allowed.astimezone(ZoneInfo(zone)).time())
    assert allowed - now <= dt.timedelta(hours=12)


def test_retry_pauses_grow_and_are_capped() -> None:
    m = MessagingSettings()
    pauses = [m.retry_pause(n) for n in range(1, 7)]
    assert pauses[:4] == [dt.timedelta(minutes=k) for k in (1, 4, 16, 64)]
    assert pauses[4:] == [dt.timedelta(hours=2)] * 2


def signals(**overrides: Any) -> BehaviourSignals:
    values: dict[str, Any] = {
        "dpd": 0, "max_dpd": 0, "late_installments": 0, "avg_days_late": 0,
        "partial_installments": 0, "failed_debits": 0, "bureau_events": 0, "days_to_roll": None,
    }  # fmt: skip
    values.update(overrides)
    return BehaviourSignals(**values)


def test_the_scorecard_adds_capped_points_and_bands_them() -> None:
    assert behaviour_score(signals()).score == 0
    assert behaviour_score(signals()).band == "A"
    risky = signals(
        max_dpd=7, late_installments=1, avg_days_late=7, failed_debits=3, bureau_events=1
    )
    assert behaviour_score(risky).score == 14 + 40 + 35 + 150 + 80
    # Each signal is capped: 400 failed debits count as 5.
    assert behaviour_score(signals(failed_debits=400)).score == 250
    worst = signals(dpd=400, max_dpd=400, late_installments=50, avg_days_late=99,
                    partial_installments=9, failed_debits=9, bureau_events=9)  # fmt: skip
    assert behaviour_score(worst).score == 1000 and behaviour_score(worst).band == "E"


def test_roll_risk_needs_both_a_high_score_and_a_near_bucket_boundary() -> None:
    w = EarlyWarningWeights()
    near = signals(failed_debits=5, bureau_events=1, days_to_roll=3)
    far = signals(failed_debits=5, bureau_events=1, days_to_roll=20)
    calm = signals(days_to_roll=1)
    assert behaviour_score(near, w).roll_risk and not behaviour_score(far, w).roll_risk
    assert not behaviour_score(calm, w).roll_risk
    assert behaviour_score(near).next_bucket == "M1"
    # Past 180 days there is no worse bucket to roll into.
    assert not behaviour_score(
        signals(dpd=200, max_dpd=200, failed_debits=5, days_to_roll=1)
    ).roll_risk


def test_days_to_roll_counts_to_the_next_bucket_boundary() -> None:
    assert days_to_roll(0, 0) == 1  # due today: past due (M1) tomorrow
    assert days_to_roll(0, 6) == 7
    assert days_to_roll(0, None) is None
    assert days_to_roll(1, None) == 30  # M1 → M2 at 31 days
    assert days_to_roll(30, 5) == 1
    assert days_to_roll(31, None) == 30
    assert days_to_roll(181, None) is None


def test_references_are_found_in_remarks_however_they_are_typed() -> None:
    loan_id = "01jz3k4m5n6p7q8r9s0t1v2w3x"
    ref = repayment_reference(loan_id)
    assert ref == "HK01JZ3K4M5N6P7Q8R9S0T1V2W3X"
    assert loan_ids_in(f"还款 {ref}") == [loan_id]
    assert loan_ids_in(f"hk-{loan_id[:10]} {loan_id[10:]}") == [loan_id]
    assert loan_ids_in("房租 三月") == []


class MemoryDates:
    def __init__(self) -> None:
        self.rows: dict[dt.date, BusinessDate] = {}
        self.started: list[dt.date] = []

    def running(self) -> BusinessDate | None:
        return next((r for r in sorted(self.rows.values(), key=lambda r: r.business_date)
                     if r.status == "running"), None)  # fmt: skip

    def last_closed(self) -> dt.date | None:
        done = [d for d, r in self.rows.items() if r.status == "done"]
        return max(done) if done else None

    def get(self, business_date: dt.date) -> BusinessDate | None:
        return self.rows.get(business_date)

    def start(self, business_date: dt.date, partitions: int, catch_up_to: dt.date) -> bool:
        if business_date in self.rows:
            return False
        self.rows[business_date] = BusinessDate(business_date, partitions, "running", catch_up_to)
        self.started.append(business_date)
        return True

    def extend(self, business_date: dt.date, catch_up_to: dt.date) -> None:
        row = self.rows[business_date]
        target = max(row.catch_up_to or catch_up_to, catch_up_to)
        self.rows[business_date] = BusinessDate(business_date, row.partitions, row.status, target)

    def add_counts(self, business_date: dt.date, counts: dict[str, int]) -> None:
        pass

    def close(self, business_date: dt.date, summary: dict[str, Any]) -> BusinessDate:
        row = self.rows[business_date]
        self.rows[business_date] = BusinessDate(
            business_date, row.partitions, "done", row.catch_up_to, summary=summary
        )
        return self.rows[business_date]

    def recent(self, limit: int = 30) -> list[BusinessDate]:
        return sorted(self.rows.values(), key=lambda r: r.business_date, reverse=True)[:limit]


def test_missed_dates_run_once_each_in_order_whatever_is_asked_meanwhile() -> None:
    store = MemoryDates()
    d0 = dt.date(2026, 1, 1)
    day = lambda k: d0 + dt.timedelta(days=k)  # noqa: E731
    assert request_business_date(store, day(0), 2).start == day(0)
    # Asked while day 0 runs: remembered, and day 0's partitions may be asked for again.
    assert request_business_date(store, day(9), 2).resume == day(0)
    request_business_date(store, day(4), 2)  # an earlier target does not shorten it
    assert request_business_date(store, day(0), 2).start is None
    current = day(0)
    while True:
        if current == day(5):  # more dates missed while catching up: the target moves
            assert request_business_date(store, day(12), 2).start is None
        closed = store.close(current, {})
        target = after_close(closed)
        if target is None:
            break
        step = request_business_date(store, target, 2)
        assert step.start == current + dt.timedelta(days=1)
        current = step.start
    assert store.started == [day(k) for k in range(13)]
    assert request_business_date(store, day(3), 2).start is None  # closed already
