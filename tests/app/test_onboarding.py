"""Onboarding use cases over in-memory ports: OTP sign-in, KYC, consents, sessions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from fakes_onboarding import OnboardingKit, build_onboarding
from stdnum.cn import ric

from mobilend.app.onboarding.pii import PHONE
from mobilend.domain.borrowers import (
    BorrowerInactive,
    ConsentPurpose,
    NationalIdTaken,
    Unauthenticated,
)
from mobilend.domain.errors import NotFound, ValidationFailed
from mobilend.domain.otp import OtpDeliveryFailed, OtpOutcome, OtpRateLimited, OtpRejected

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
PHONE_NUMBER = "13812345678"
CARD = "6222021234567890128"  # Luhn-valid


def national_id(birth: str = "19900307", region: str = "110101", seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def kit() -> OnboardingKit:
    return build_onboarding(T0, 123456, 654321, 111111, 222222)


def sign_in(kit: OnboardingKit, phone: str = PHONE_NUMBER) -> str:
    kit.onboarding.request_otp(phone)
    return kit.onboarding.verify_otp(phone, kit.sms.last_code()).borrower_id


def stored_text(kit: OnboardingKit) -> str:
    return repr(kit.store.committed)


# --------------------------------------------------------------------------- OTP


def test_request_otp_sends_chinese_sms_and_stores_only_hashes(kit: OnboardingKit) -> None:
    sent = kit.onboarding.request_otp("+86 138-1234-5678")
    assert sent.phone == "138****5678"
    assert sent.expires_at == T0 + dt.timedelta(minutes=5)
    assert sent.resend_after_seconds == 60
    [message] = kit.sms.sent
    assert message.recipient == "+8613812345678"
    assert message.channel == "sms"
    assert message.body == "【mobilend】您的验证码是123456，5分钟内有效。"
    [challenge] = kit.store.committed.challenges.values()
    assert challenge.subject == kit.vault.blind_index(PHONE, "+8613812345678")
    assert "123456" not in challenge.code_hash
    assert "13812345678" not in stored_text(kit)


def test_request_otp_in_english(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER, locale="en")
    assert (
        kit.sms.sent[0].body == "[mobilend] Your verification code is 123456, valid for 5 minutes."
    )


@pytest.mark.parametrize(
    "phone", ["", "12345678901", "010-12345678", "+14155550100", "abc", "1" * 40]
)
def test_request_otp_refuses_non_mainland_mobile(kit: OnboardingKit, phone: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        kit.onboarding.request_otp(phone)
    assert [p.field for p in caught.value.problems] == ["phone"]
    assert kit.sms.sent == []


def test_resend_cooldown_then_allowed(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    kit.clock.advance(seconds=30)
    with pytest.raises(OtpRateLimited) as caught:
        kit.onboarding.request_otp(PHONE_NUMBER)
    assert caught.value.retry_after_seconds == 30
    kit.clock.advance(seconds=30)
    kit.onboarding.request_otp(PHONE_NUMBER)
    assert len(kit.sms.sent) == 2
    # Another phone is not held back by the first one's cool-down.
    kit.onboarding.request_otp("13912345678")
    assert len(kit.sms.sent) == 3


def test_daily_cap(kit: OnboardingKit) -> None:
    for _ in range(10):
        kit.onboarding.request_otp(PHONE_NUMBER)
        kit.clock.advance(minutes=2)
    with pytest.raises(OtpRateLimited):
        kit.onboarding.request_otp(PHONE_NUMBER)
    kit.clock.advance(hours=24)
    kit.onboarding.request_otp(PHONE_NUMBER)


@pytest.mark.parametrize("failure", ["refuse", "unavailable"])
def test_gateway_failure_records_nothing_so_retry_is_immediate(
    kit: OnboardingKit, failure: str
) -> None:
    setattr(kit.sms, failure, True)
    with pytest.raises(OtpDeliveryFailed):
        kit.onboarding.request_otp(PHONE_NUMBER)
    assert kit.store.committed.challenges == {}
    setattr(kit.sms, failure, False)
    kit.onboarding.request_otp(PHONE_NUMBER)
    assert len(kit.sms.sent) == 1


def test_first_sign_in_registers_then_later_sign_in_finds_same_borrower(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    first = kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert first.is_new
    assert first.tokens.access_token.startswith(f"access:borrower:{first.borrower_id}:")
    sealed = kit.store.committed.borrowers[first.borrower_id]
    assert sealed.status == "registered"
    assert "13812345678" not in stored_text(kit)
    assert kit.onboarding.profile(first.borrower_id).phone == "138****5678"

    kit.clock.advance(minutes=2)
    kit.onboarding.request_otp("+8613812345678")
    again = kit.onboarding.verify_otp("138 1234 5678", "654321")
    assert not again.is_new and again.borrower_id == first.borrower_id
    assert kit.store.committed.borrowers[first.borrower_id].last_login_at == kit.clock.now()


def test_wrong_codes_count_and_lock_the_challenge(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(OtpRejected) as caught:
            kit.onboarding.verify_otp(PHONE_NUMBER, "000000")
        assert caught.value.outcome is OtpOutcome.WRONG_CODE
        assert caught.value.attempts_left == left
        assert caught.value.problems[0].field == "code"
    with pytest.raises(OtpRejected) as locked:
        kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert locked.value.outcome is OtpOutcome.LOCKED
    assert kit.store.committed.borrowers == {}


def test_code_expires_and_is_single_use(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    kit.clock.advance(minutes=5)
    with pytest.raises(OtpRejected) as expired:
        kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert expired.value.outcome is OtpOutcome.EXPIRED

    kit.onboarding.request_otp(PHONE_NUMBER)
    kit.onboarding.verify_otp(PHONE_NUMBER, "654321")
    with pytest.raises(OtpRejected) as used:
        kit.onboarding.verify_otp(PHONE_NUMBER, "654321")
    assert used.value.outcome is OtpOutcome.USED


def test_new_code_replaces_the_old_one(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    kit.clock.advance(seconds=61)
    kit.onboarding.request_otp(PHONE_NUMBER)
    with pytest.raises(OtpRejected):
        kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert kit.onboarding.verify_otp(PHONE_NUMBER, "654321").is_new


def test_verify_without_request_or_with_malformed_code(kit: OnboardingKit) -> None:
    with pytest.raises(OtpRejected) as missing:
        kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert missing.value.outcome is OtpOutcome.MISSING
    kit.onboarding.request_otp(PHONE_NUMBER)
    with pytest.raises(ValidationFailed) as malformed:
        kit.onboarding.verify_otp(PHONE_NUMBER, "12ab56")
    assert not isinstance(malformed.value, OtpRejected)
    [challenge] = kit.store.committed.challenges.values()
    assert challenge.attempts == 0  # a malformed code spends no attempt


def test_code_of_one_phone_does_not_open_another(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    kit.onboarding.request_otp("13912345678")  # code 654321
    with pytest.raises(OtpRejected):
        kit.onboarding.verify_otp("13912345678", "123456")


# --------------------------------------------------------------------------- sessions


def test_authenticate_refresh_and_sign_out(kit: OnboardingKit) -> None:
    kit.onboarding.request_otp(PHONE_NUMBER)
    signed = kit.onboarding.verify_otp(PHONE_NUMBER, "123456")
    assert kit.onboarding.authenticate(signed.tokens.access_token) == signed.borrower_id
    with pytest.raises(Unauthenticated):
        kit.onboarding.authenticate(f"access:staff:{signed.borrower_id}:9")
    renewed = kit.onboarding.refresh_session(signed.tokens.refresh_token)
    assert renewed.refresh_token != signed.tokens.refresh_token
    with pytest.raises(Unauthenticated):
        kit.onboarding.refresh_session(signed.tokens.refresh_token)
    kit.onboarding.sign_out(renewed.refresh_token)
    assert renewed.refresh_token in kit.tokens.revoked


# --------------------------------------------------------------------------- KYC


def test_kyc_passes_and_stores_identity_sealed(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    id_number = national_id()
    profile = kit.onboarding.submit_kyc(
        borrower_id,
        real_name=" 张三 ",
        national_id=id_number.lower(),
        bank_card="6222 0212 3456 7890 128",
    )
    assert profile.status == "kyc_passed"
    assert profile.national_id == id_number[:3] + "*" * 11 + id_number[-4:]
    assert profile.real_name == "张*"
    assert profile.bank_card == "*" * 15 + "0128"
    sealed = kit.store.committed.borrowers[borrower_id]
    assert sealed.birth_date_enc is not None and "1990" not in sealed.birth_date_enc
    assert kit.vault.decrypt("birth_date", sealed.birth_date_enc) == "1990-03-07"
    assert sealed.kyc_verified_at == T0
    text = stored_text(kit)
    for secret in (id_number, "张三", CARD, PHONE_NUMBER):
        assert secret not in text
    clear = kit.onboarding.load_borrower(borrower_id)
    assert clear.kyc is not None
    assert (clear.kyc.real_name, clear.kyc.national_id, clear.kyc.bank_card) == (
        "张三",
        id_number,
        CARD,
    )
    assert clear.ensure_can_borrow().birth_date == dt.date(1990, 3, 7)


def test_kyc_lists_every_problem_at_once(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    good = national_id()
    bad_checksum = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as caught:
        kit.onboarding.submit_kyc(
            borrower_id, real_name="", national_id=bad_checksum, bank_card="6222021234567890123"
        )
    assert sorted(p.field for p in caught.value.problems) == [
        "bank_card",
        "national_id",
        "real_name",
    ]
    assert kit.store.committed.borrowers[borrower_id].status == "registered"


@pytest.mark.parametrize(
    "id_number",
    [
        "12345",
        "11010119900307123",
        "1101011990030712AX",
        national_id(birth="19900230"),
        national_id(region="000000"),
    ],
)
def test_kyc_refuses_bad_resident_ids(kit: OnboardingKit, id_number: str) -> None:
    borrower_id = sign_in(kit)
    with pytest.raises(ValidationFailed) as caught:
        kit.onboarding.submit_kyc(
            borrower_id, real_name="张三", national_id=id_number, bank_card=CARD
        )
    assert [p.field for p in caught.value.problems] == ["national_id"]


def test_kyc_age_uses_beijing_date(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    # Turns 18 on 2026-03-01: already that day in Beijing (04:00) while UTC still says 28 February.
    kit.clock.current = dt.datetime(2026, 2, 28, 20, 0, tzinfo=dt.UTC)
    adult_today = national_id(birth="20080301")
    minor = national_id(birth="20080302")
    with pytest.raises(ValidationFailed) as caught:
        kit.onboarding.submit_kyc(borrower_id, real_name="张三", national_id=minor, bank_card=CARD)
    assert "18" in caught.value.problems[0].message
    kit.onboarding.submit_kyc(
        borrower_id, real_name="张三", national_id=adult_today, bank_card=CARD
    )


def test_national_id_registered_to_another_borrower_is_refused(kit: OnboardingKit) -> None:
    first = sign_in(kit)
    kit.clock.advance(seconds=61)
    second = sign_in(kit, "13912345678")
    id_number = national_id()
    kit.onboarding.submit_kyc(first, real_name="张三", national_id=id_number, bank_card=CARD)
    with pytest.raises(NationalIdTaken) as caught:
        kit.onboarding.submit_kyc(second, real_name="张三", national_id=id_number, bank_card=CARD)
    assert [p.field for p in caught.value.problems] == ["national_id"]
    assert kit.store.committed.borrowers[second].status == "registered"
    # The holder may resubmit (e.g. a new bank card).
    new_card = "4111111111111111"
    assert kit.onboarding.submit_kyc(
        first, real_name="张三", national_id=id_number, bank_card=new_card
    ).bank_card == ("************1111")


def test_kyc_for_unknown_or_closed_borrower(kit: OnboardingKit) -> None:
    with pytest.raises(NotFound):
        kit.onboarding.submit_kyc(
            "nobody", real_name="张三", national_id=national_id(), bank_card=CARD
        )
    borrower_id = sign_in(kit)
    sealed = kit.store.committed.borrowers[borrower_id]
    kit.store.committed.borrowers[borrower_id] = dataclasses.replace(sealed, status="closed")
    with pytest.raises(BorrowerInactive):
        kit.onboarding.submit_kyc(
            borrower_id, real_name="张三", national_id=national_id(), bank_card=CARD
        )


# --------------------------------------------------------------------------- consents


def test_consents_recorded_with_version_and_time(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    at = T0 + dt.timedelta(minutes=3)
    view = kit.onboarding.record_consent(
        borrower_id, "credit_report_query", "2026.01", at, ip_address="10.0.0.1", device_id="dev-1"
    )
    assert (view.purpose, view.text_version, view.granted_at, view.withdrawn_at) == (
        "credit_report_query",
        "2026.01",
        at,
        None,
    )
    [stored] = kit.store.committed.consents.values()
    assert (stored.ip_address, stored.device_id) == ("10.0.0.1", "dev-1")

    # The same version again records nothing new; a new version supersedes the old grant.
    kit.onboarding.record_consent(borrower_id, "credit_report_query", "2026.01")
    assert len(kit.store.committed.consents) == 1
    kit.clock.advance(days=30)
    kit.onboarding.record_consent(borrower_id, "credit_report_query", "2026.02")
    history = kit.onboarding.consents(borrower_id)
    assert [(c.text_version, c.is_active) for c in history] == [
        ("2026.01", False),
        ("2026.02", True),
    ]
    assert history[0].withdrawn_at == kit.clock.now()


def test_consent_withdrawal(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    kit.onboarding.record_consent(borrower_id, "marketing", "m1")
    kit.clock.advance(hours=1)
    view = kit.onboarding.withdraw_consent(borrower_id, "marketing")
    assert view.withdrawn_at == kit.clock.now()
    with pytest.raises(NotFound):
        kit.onboarding.withdraw_consent(borrower_id, "marketing")
    [consent] = kit.onboarding.consents(borrower_id)
    assert consent.purpose is ConsentPurpose.MARKETING and not consent.is_active


def test_consent_refusals(kit: OnboardingKit) -> None:
    borrower_id = sign_in(kit)
    with pytest.raises(ValidationFailed) as caught:
        kit.onboarding.record_consent(borrower_id, "everything", "v1")
    assert [p.field for p in caught.value.problems] == ["purpose"]
    with pytest.raises(ValidationFailed):
        kit.onboarding.record_consent(borrower_id, "data_use", "")
    with pytest.raises(ValidationFailed):
        kit.onboarding.withdraw_consent(borrower_id, "everything")
    with pytest.raises(NotFound):
        kit.onboarding.record_consent("nobody", "data_use", "v1")
