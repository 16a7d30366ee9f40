"""Abuse limits on sign-in codes (app level, in-memory counters): sends per client
address and overall, and code checks per phone and per address, each refused with 429
and the seconds until its window ends."""

from __future__ import annotations

import datetime as dt

import pytest
from fakes_onboarding import (
    FakeClock,
    FakeStore,
    FakeTokenIssuer,
    FakeVault,
    ScriptedRandom,
    SmsOutbox,
)

from mobilend.adapters.ids import SortableIds
from mobilend.adapters.memory.rate_limits import InMemoryRateLimiter
from mobilend.app.onboarding.service import Onboarding, OnboardingSettings
from mobilend.domain.limits import OtpAbuseLimits, RateLimit
from mobilend.domain.otp import OtpRateLimited, OtpRejected

T0 = dt.datetime(2026, 3, 1, 2, 0, 30, tzinfo=dt.UTC)
TEN_MINUTES = dt.timedelta(minutes=10)


def build(limits: OtpAbuseLimits) -> tuple[Onboarding, SmsOutbox, FakeClock]:
    sms, clock = SmsOutbox(), FakeClock(T0)
    onboarding = Onboarding(
        unit_of_work=FakeStore().unit_of_work,
        vault=FakeVault(),
        messages=sms,
        tokens=FakeTokenIssuer(),
        clock=clock,
        ids=SortableIds(),
        random=ScriptedRandom(*range(100_000, 100_500)),
        settings=OnboardingSettings(limits=limits),
        limiter=InMemoryRateLimiter(),
    )
    return onboarding, sms, clock


def phone(n: int) -> str:
    return f"1380000{n:04d}"


def test_one_client_cannot_send_codes_to_many_phones() -> None:
    limits = OtpAbuseLimits(sends_per_ip=RateLimit("otp_send_ip", 5, TEN_MINUTES))
    onboarding, sms, _ = build(limits)
    refused = 0
    for n in range(200):
        try:
            onboarding.request_otp(phone(n), client_ip="203.0.113.7")
        except OtpRateLimited as exc:
            refused += 1
            assert 0 < exc.retry_after_seconds <= 600
    assert (len(sms.sent), refused) == (5, 195)
    # Another client is not affected; nor is the same one in the next window.
    onboarding.request_otp(phone(500), client_ip="198.51.100.1")
    assert len(sms.sent) == 6


def test_the_whole_service_sends_at_most_so_many_codes_a_minute() -> None:
    limits = OtpAbuseLimits(sends_overall=RateLimit("otp_send_all", 3, dt.timedelta(minutes=1)))
    onboarding, sms, clock = build(limits)
    for n in range(3):
        onboarding.request_otp(phone(n), client_ip=f"198.51.100.{n}")
    with pytest.raises(OtpRateLimited) as caught:
        onboarding.request_otp(phone(9), client_ip="192.0.2.9")
    assert caught.value.retry_after_seconds == 30  # T0 is half a minute in
    clock.advance(seconds=30)
    onboarding.request_otp(phone(9), client_ip="192.0.2.9")
    assert len(sms.sent) == 4


def test_fresh_codes_do_not_buy_fresh_guesses() -> None:
    limits = OtpAbuseLimits(checks_per_phone=RateLimit("otp_check_phone", 4, TEN_MINUTES))
    onboarding, _, clock = build(limits)
    guesses = 0
    with pytest.raises(OtpRateLimited):
        for _ in range(10):
            onboarding.request_otp(phone(1), client_ip="203.0.113.7")
            clock.advance(seconds=61)  # past the resend cool-down
            for _ in range(2):
                try:
                    guesses += 1
                    onboarding.verify_otp(phone(1), "000000", client_ip="203.0.113.7")
                except OtpRejected:
                    pass
    assert guesses == 5  # the fifth check is refused before the code is looked at


def test_one_client_cannot_guess_across_many_phones() -> None:
    limits = OtpAbuseLimits(checks_per_ip=RateLimit("otp_check_ip", 3, TEN_MINUTES))
    onboarding, _, _ = build(limits)
    for n in range(3):
        with pytest.raises(OtpRejected):
            onboarding.verify_otp(phone(n), "000000", client_ip="2001:db8:1:2::7")
    # The same /64 is the same client.
    with pytest.raises(OtpRateLimited):
        onboarding.verify_otp(phone(9), "000000", client_ip="2001:db8:1:2::8")
