"""Where a rate limit's window starts: the Unix epoch for short abuse windows, the
Beijing calendar day for daily application limits."""

from __future__ import annotations

import datetime as dt

from mobilend.domain.limits import ApplicationLimits, OtpAbuseLimits

BEIJING = dt.timezone(dt.timedelta(hours=8))


def test_an_application_day_is_the_beijing_calendar_day() -> None:
    limit = ApplicationLimits().per_identity
    # 07:30 and 08:30 in Beijing: the same Beijing day, though UTC turned midnight between.
    early = dt.datetime(2026, 12, 5, 7, 30, tzinfo=BEIJING)
    later = dt.datetime(2026, 12, 5, 8, 30, tzinfo=BEIJING)
    assert limit.window_at(early) == limit.window_at(later)
    start, end = limit.window_at(early)
    assert start == dt.datetime(2026, 12, 5, tzinfo=BEIJING)
    assert end == dt.datetime(2026, 12, 6, tzinfo=BEIJING)
    # 23:59 and 00:01 in Beijing are two days, though still the same UTC day.
    before = dt.datetime(2026, 12, 5, 23, 59, tzinfo=BEIJING)
    after = dt.datetime(2026, 12, 6, 0, 1, tzinfo=BEIJING)
    assert before.astimezone(dt.UTC).date() == after.astimezone(dt.UTC).date()
    assert limit.window_at(before) != limit.window_at(after)
    assert ApplicationLimits().per_device.window_at(after)[0] == dt.datetime(
        2026, 12, 6, tzinfo=BEIJING
    )


def test_short_abuse_windows_stay_aligned_to_the_epoch() -> None:
    limit = OtpAbuseLimits().sends_per_ip  # ten minutes
    now = dt.datetime(2026, 12, 5, 3, 17, 42, tzinfo=dt.UTC)
    start, end = limit.window_at(now)
    assert (start, end) == (
        dt.datetime(2026, 12, 5, 3, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 5, 3, 20, tzinfo=dt.UTC),
    )
