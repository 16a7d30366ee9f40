"""Identity fields for onboarding: validation with the standard libraries, and sealing.

Validation collects every problem of a submission before refusing it. Sealing turns a
domain ``Borrower`` (plain values) into the ``SealedBorrower`` a repository stores
(vault ciphertexts and blind indexes) and back, so no repository ever sees plain PII.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers
from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from mobilend.app.onboarding.ports import SealedBorrower
from mobilend.app.ports import PiiVault
from mobilend.domain.borrowers import (
    Borrower,
    BorrowerStatus,
    KycPolicy,
    KycProfile,
    age_problems,
    mask_bank_card,
    mask_name,
    mask_national_id,
    mask_phone,
    normalise_real_name,
    real_name_problems,
)
from mobilend.domain.errors import Problem, ValidationFailed

#: Vault field names: also the associated data that binds a ciphertext to its column.
PHONE = "phone"
REAL_NAME = "real_name"
NATIONAL_ID = "national_id"
BANK_CARD = "bank_card"
#: Sealed like the rest: with the name it narrows a person down to a handful of people.
BIRTH_DATE = "birth_date"
OTP_CODE = "otp_code"

_MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def phone_problems(raw: str) -> tuple[str, list[Problem]]:
    """(E.164 form, problems) for a mainland-China mobile number."""
    bad = [
        Problem(
            "phone",
            _text("请输入有效的中国大陆手机号", "enter a valid mainland China mobile number"),
        )
    ]
    if not raw or len(raw) > 32:
        return "", bad
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return "", bad
    if (
        number.country_code != 86
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        return "", bad
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), []


def normalise_cn_mobile(raw: str) -> str:
    """E.164 form of a mainland mobile number, or ValidationFailed on ``phone``."""
    e164, problems = phone_problems(raw)
    if problems:
        raise ValidationFailed(problems)
    return e164


def national_id_problems(raw: str) -> tuple[str, dt.date | None, list[Problem]]:
    """(compact 18-character ID, birth date, problems) via ``stdnum.cn.ric``."""
    field = "national_id"
    if not raw or len(raw) > 40:
        return (
            "",
            None,
            [Problem(field, _text("请输入18位身份证号", "enter the 18-character resident ID"))],
        )
    try:
        number = ric.validate(raw)
    except InvalidLength:
        message = _text("身份证号应为18位", "resident ID must be 18 characters")
    except InvalidFormat:
        message = _text("身份证号格式不正确", "resident ID may hold digits and a final X only")
    except InvalidChecksum:
        message = _text("身份证号校验码不正确", "resident ID check character does not match")
    except InvalidComponent:
        message = _text(
            "身份证号中的出生日期或地区码无效", "resident ID birth date or region is invalid"
        )
    except ValidationError:
        message = _text("身份证号无效", "resident ID is invalid")
    else:
        return number, ric.get_birth_date(number), []
    return "", None, [Problem(field, message)]


def bank_card_problems(raw: str) -> tuple[str, list[Problem]]:
    """(digits, problems): 12-19 digits passing the Luhn check."""
    digits = re.sub(r"[\s\-]", "", raw or "")
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        return "", [
            Problem(
                "bank_card", _text("银行卡号应为12至19位数字", "card number must be 12-19 digits")
            )
        ]
    if not luhn.is_valid(digits):
        return "", [
            Problem("bank_card", _text("银行卡号有误，请核对", "card number fails its check digit"))
        ]
    return digits, []


@dataclass(frozen=True, slots=True)
class CheckedIdentity:
    real_name: str
    national_id: str
    birth_date: dt.date
    bank_card: str


def check_identity(
    real_name: str, national_id: str, bank_card: str, *, today: dt.date, policy: KycPolicy
) -> CheckedIdentity:
    """Validate every KYC field; one ValidationFailed listing all problems."""
    problems = list(real_name_problems(real_name))
    id_number, birth_date, id_problems = national_id_problems(national_id)
    problems += id_problems
    if birth_date is not None:
        problems += age_problems(birth_date, today, policy)
    card, card_problems = bank_card_problems(bank_card)
    problems += card_problems
    if problems or birth_date is None:
        raise ValidationFailed(problems)
    return CheckedIdentity(normalise_real_name(real_name), id_number, birth_date, card)


# --------------------------------------------------------------------------- sealing


def seal(borrower: Borrower, vault: PiiVault) -> SealedBorrower:
    kyc = borrower.kyc
    return SealedBorrower(
        borrower_id=borrower.borrower_id,
        status=borrower.status.value,
        phone_enc=vault.encrypt(PHONE, borrower.phone),
        phone_bidx=vault.blind_index(PHONE, borrower.phone),
        registered_at=borrower.registered_at,
        last_login_at=borrower.last_login_at,
        freeze_reason=borrower.freeze_reason,
        name_enc=vault.encrypt(REAL_NAME, kyc.real_name) if kyc else None,
        national_id_enc=vault.encrypt(NATIONAL_ID, kyc.national_id) if kyc else None,
        national_id_bidx=vault.blind_index(NATIONAL_ID, kyc.national_id) if kyc else None,
        bank_card_enc=vault.encrypt(BANK_CARD, kyc.bank_card) if kyc else None,
        bank_card_bidx=vault.blind_index(BANK_CARD, kyc.bank_card) if kyc else None,
        birth_date_enc=vault.encrypt(BIRTH_DATE, kyc.birth_date.isoformat()) if kyc else None,
        kyc_verified_at=kyc.verified_at if kyc else None,
    )


def unseal(sealed: SealedBorrower, vault: PiiVault) -> Borrower:
    kyc: KycProfile | None = None
    if (
        sealed.name_enc
        and sealed.national_id_enc
        and sealed.bank_card_enc
        and sealed.birth_date_enc is not None
        and sealed.kyc_verified_at is not None
    ):
        kyc = KycProfile(
            real_name=vault.decrypt(REAL_NAME, sealed.name_enc),
            national_id=vault.decrypt(NATIONAL_ID, sealed.national_id_enc),
            birth_date=dt.date.fromisoformat(vault.decrypt(BIRTH_DATE, sealed.birth_date_enc)),
            bank_card=vault.decrypt(BANK_CARD, sealed.bank_card_enc),
            verified_at=sealed.kyc_verified_at,
        )
    return Borrower(
        borrower_id=sealed.borrower_id,
        phone=vault.decrypt(PHONE, sealed.phone_enc),
        registered_at=sealed.registered_at,
        status=BorrowerStatus(sealed.status),
        kyc=kyc,
        freeze_reason=sealed.freeze_reason,
        last_login_at=sealed.last_login_at,
    )


@dataclass(frozen=True, slots=True)
class BorrowerProfile:
    """What a borrower (or a role without PII access) is shown: identity fields masked."""

    borrower_id: str
    status: str
    phone: str
    real_name: str | None
    national_id: str | None
    bank_card: str | None
    registered_at: dt.datetime
    kyc_verified_at: dt.datetime | None


def masked_profile(borrower: Borrower) -> BorrowerProfile:
    kyc = borrower.kyc
    return BorrowerProfile(
        borrower_id=borrower.borrower_id,
        status=borrower.status.value,
        phone=mask_phone(borrower.phone),
        real_name=mask_name(kyc.real_name) if kyc else None,
        national_id=mask_national_id(kyc.national_id) if kyc else None,
        bank_card=mask_bank_card(kyc.bank_card) if kyc else None,
        registered_at=borrower.registered_at,
        kyc_verified_at=kyc.verified_at if kyc else None,
    )
