"""Borrower rules: status, KYC locking, consents, OTP challenges, masking, names and ages."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.borrowers import (
    Borrower,
    BorrowerInactive,
    BorrowerStatus,
    Consent,
    ConsentPurpose,
    ConsentRequired,
    KycLocked,
    KycPolicy,
    KycProfile,
    active_consents,
    age_on,
    age_problems,
    mask_bank_card,
    mask_name,
    mask_national_id,
    mask_phone,
    missing_consents,
    normalise_real_name,
    real_name_problems,
    require_consents,
)
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.otp import (
    OtpChallenge,
    OtpOutcome,
    OtpPolicy,
    OtpRateLimited,
    ensure_can_send,
    is_well_formed_code,
    otp_code_from,
)

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
POLICY = OtpPolicy()


def profile(
    national_id: str = "110101199003071233", name: str = "张三", card: str = "6222021234567890128"
) -> KycProfile:
    return KycProfile(name, national_id, dt.date(1990, 3, 7), card, T0)


# --------------------------------------------------------------------------- borrower


def test_new_borrower_is_registered_and_cannot_borrow_before_kyc() -> None:
    borrower = Borrower.register("b1", "+8613812345678", T0)
    assert borrower.status is BorrowerStatus.REGISTERED
    assert borrower.last_login_at == T0
    with pytest.raises(BorrowerInactive) as caught:
        borrower.ensure_can_borrow()
    assert [p.field for p in caught.value.problems] == ["kyc"]


def test_kyc_pass_then_identity_is_locked_but_card_may_change() -> None:
    borrower = Borrower.register("b1", "+8613812345678", T0)
    borrower.pass_kyc(profile())
    assert borrower.status is BorrowerStatus.KYC_PASSED
    assert borrower.ensure_can_borrow().national_id == "110101199003071233"

    borrower.pass_kyc(profile(card="4111111111111111"))
    assert borrower.kyc is not None and borrower.kyc.bank_card == "4111111111111111"

    with pytest.raises(KycLocked):
        borrower.pass_kyc(profile(national_id="11010119900307125X"))
    with pytest.raises(KycLocked):
        borrower.pass_kyc(profile(name="李四"))


def test_frozen_borrower_signs_in_but_cannot_borrow_and_unfreezes_to_previous_state() -> None:
    borrower = Borrower.register("b1", "+8613812345678", T0)
    borrower.pass_kyc(profile())
    borrower.freeze("suspected fraud")
    later = T0 + dt.timedelta(days=1)
    borrower.record_login(later)
    assert borrower.last_login_at == later
    with pytest.raises(BorrowerInactive):
        borrower.ensure_can_borrow()
    borrower.unfreeze()
    assert borrower.status is BorrowerStatus.KYC_PASSED and borrower.freeze_reason == ""

    fresh = Borrower.register("b2", "+8613812345679", T0)
    fresh.freeze("court order")
    fresh.unfreeze()
    assert fresh.status is BorrowerStatus.REGISTERED


def test_freeze_needs_reason_and_closed_borrower_is_final() -> None:
    borrower = Borrower.register("b1", "+8613812345678", T0)
    with pytest.raises(ValidationFailed):
        borrower.freeze("  ")
    with pytest.raises(Conflict):
        borrower.unfreeze()
    borrower.close()
    with pytest.raises(BorrowerInactive):
        borrower.record_login(T0)
    with pytest.raises(BorrowerInactive):
        borrower.freeze("x")
    with pytest.raises(BorrowerInactive):
        borrower.pass_kyc(profile())


def test_kyc_passed_status_requires_profile() -> None:
    with pytest.raises(ValidationFailed):
        Borrower("b1", "+8613812345678", T0, status=BorrowerStatus.KYC_PASSED)


# --------------------------------------------------------------------------- names and ages


@pytest.mark.parametrize(
    "name",
    [
        "张三",
        "欧阳娜娜",
        "阿依古丽·买买提",
        "阿依古丽•买买提",
        "John Smith",
        "Mary-Jane O'Neil",
        "ＪＯＨＮ",
    ],
)
def test_real_name_accepts_chinese_minority_and_latin_names(name: str) -> None:
    assert real_name_problems(name) == []


@pytest.mark.parametrize(
    "name", ["", "   ", "张", "张3", "张三John", "<script>", "A", "张·", "·张三"]
)
def test_real_name_refuses_empty_short_mixed_or_symbols(name: str) -> None:
    problems = real_name_problems(name)
    assert [p.field for p in problems] == ["real_name"]


def test_normalise_real_name_unifies_dots_and_spaces() -> None:
    assert normalise_real_name(" 阿依古丽 • 买买提 ") == "阿依古丽·买买提"
    assert normalise_real_name("John   Smith") == "John Smith"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (dt.date(2000, 3, 7), dt.date(2018, 3, 6), 17),
        (dt.date(2000, 3, 7), dt.date(2018, 3, 7), 18),
        (dt.date(2000, 2, 29), dt.date(2018, 2, 28), 17),
        (dt.date(2000, 2, 29), dt.date(2018, 3, 1), 18),
    ],
)
def test_age_counts_completed_years(birth: dt.date, on: dt.date, age: int) -> None:
    assert age_on(birth, on) == age


def test_age_bounds() -> None:
    policy = KycPolicy(min_age=18, max_age=60)
    on = dt.date(2026, 6, 1)
    assert age_problems(dt.date(2008, 6, 1), on, policy) == []
    assert age_problems(dt.date(2008, 6, 2), on, policy)[0].field == "national_id"
    assert age_problems(dt.date(1965, 6, 2), on, policy) == []  # 60 until the birthday
    assert age_problems(dt.date(1965, 6, 1), on, policy) != []  # 61 on it
    assert age_problems(dt.date(2030, 1, 1), on, policy) != []


# --------------------------------------------------------------------------- consents


def grant(purpose: str, at: dt.datetime, version: str = "v1", cid: str = "c1") -> Consent:
    return Consent.grant(cid, "b1", purpose, version, at)


def test_consent_grant_validates_purpose_and_version_together() -> None:
    with pytest.raises(ValidationFailed) as caught:
        Consent.grant("c1", "b1", "telemarketing", "", T0)
    assert {p.field for p in caught.value.problems} == {"purpose", "text_version"}
    assert grant("data_use", T0, "2026.03-zh").text_version == "2026.03-zh"


def test_withdrawal_is_recorded_once_and_not_before_grant() -> None:
    consent = grant("marketing", T0)
    with pytest.raises(ValidationFailed):
        consent.withdraw(T0 - dt.timedelta(seconds=1))
    consent.withdraw(T0 + dt.timedelta(days=3))
    assert not consent.is_active and consent.withdrawn_at == T0 + dt.timedelta(days=3)
    with pytest.raises(Conflict):
        consent.withdraw(T0 + dt.timedelta(days=4))


def test_required_consents_for_credit() -> None:
    data_use = grant("data_use", T0, cid="c1")
    bureau = grant("credit_report_query", T0, cid="c2")
    assert missing_consents([data_use]) == [ConsentPurpose.CREDIT_REPORT_QUERY]
    with pytest.raises(ConsentRequired) as caught:
        require_consents([data_use])
    assert [p.field for p in caught.value.problems] == ["consents.credit_report_query"]
    require_consents([data_use, bureau])
    bureau.withdraw(T0 + dt.timedelta(hours=1))
    assert missing_consents([data_use, bureau]) == [ConsentPurpose.CREDIT_REPORT_QUERY]


def test_active_consents_keeps_latest_grant_per_purpose() -> None:
    first = grant("data_use", T0, "v1", "c1")
    second = grant("data_use", T0 + dt.timedelta(days=1), "v2", "c2")
    assert active_consents([second, first])[ConsentPurpose.DATA_USE].text_version == "v2"


# --------------------------------------------------------------------------- OTP


@given(st.integers(min_value=0, max_value=999_999))
def test_otp_code_is_six_digits_from_the_random_value(value: int) -> None:
    code = otp_code_from(value, POLICY)
    assert len(code) == 6 and int(code) == value
    assert is_well_formed_code(code, POLICY)


def test_otp_code_refuses_out_of_range_random() -> None:
    with pytest.raises(ValueError):
        otp_code_from(1_000_000, POLICY)
    with pytest.raises(ValueError):
        otp_code_from(-1, POLICY)


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", "１２３４５６", ""])
def test_malformed_codes(code: str) -> None:
    assert not is_well_formed_code(code, POLICY)


def test_resend_cooldown_and_rolling_daily_cap() -> None:
    ensure_can_send([], T0, POLICY)
    with pytest.raises(OtpRateLimited) as caught:
        ensure_can_send([T0 - dt.timedelta(seconds=20)], T0, POLICY)
    assert caught.value.retry_after_seconds == 40
    ensure_can_send([T0 - dt.timedelta(seconds=60)], T0, POLICY)

    sends = [T0 - dt.timedelta(hours=23, minutes=50 - i) for i in range(POLICY.daily_send_cap)]
    with pytest.raises(OtpRateLimited) as capped:
        ensure_can_send(sends, T0, POLICY)
    assert capped.value.retry_after_seconds == 10 * 60  # the oldest leaves the window
    ensure_can_send(sends, T0 + dt.timedelta(minutes=10, seconds=1), POLICY)


def challenge() -> OtpChallenge:
    return OtpChallenge.issue("ch1", "subject", "hash-of-right-code", T0, POLICY)


def test_challenge_accepts_right_code_once() -> None:
    ch = challenge()
    assert ch.expires_at == T0 + dt.timedelta(minutes=5)
    assert (
        ch.check("hash-of-right-code", T0 + dt.timedelta(minutes=1), POLICY) is OtpOutcome.ACCEPTED
    )
    assert ch.consumed_at == T0 + dt.timedelta(minutes=1)
    assert ch.check("hash-of-right-code", T0 + dt.timedelta(minutes=2), POLICY) is OtpOutcome.USED


def test_challenge_locks_after_max_attempts_even_for_right_code() -> None:
    ch = challenge()
    for i in range(POLICY.max_attempts):
        assert ch.check("wrong", T0, POLICY) is OtpOutcome.WRONG_CODE
        assert ch.attempts_left(POLICY) == POLICY.max_attempts - i - 1
    assert ch.check("hash-of-right-code", T0, POLICY) is OtpOutcome.LOCKED
    assert ch.attempts == POLICY.max_attempts


def test_challenge_expires_at_ttl() -> None:
    ch = challenge()
    assert ch.check("hash-of-right-code", T0 + POLICY.ttl, POLICY) is OtpOutcome.EXPIRED
    assert ch.attempts == 0


# --------------------------------------------------------------------------- masking


def test_masks() -> None:
    assert mask_national_id("110101199003071234") == "110***********1234"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank_card("6222021234567890123") == "***************0123"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("阿依古丽·买买提") == "阿***·***"
    assert mask_name("John Smith") == "J*** *****"


@given(st.text(alphabet="0123456789", min_size=8, max_size=19))
def test_masks_never_reveal_more_than_seven_digits(digits: str) -> None:
    assert len(mask_national_id(digits)) == len(mask_bank_card(digits)) == len(digits)
    for masked in (mask_national_id(digits), mask_phone(digits), mask_bank_card(digits)):
        assert sum(ch.isdigit() for ch in masked) <= 7
    assert mask_phone("86" + digits).count("*") >= len(digits) - 7
