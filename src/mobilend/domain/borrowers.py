"""Borrowers: registration, KYC status and identity rules, consents per purpose, masking.

Pure rules only: the clock and ids come in as arguments. One-time passwords are in
``domain.otp``.

Borrower-facing messages are Simplified Chinese first, English in brackets.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mobilend.domain.errors import Conflict, DomainError, Problem, ValidationFailed


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


# --------------------------------------------------------------------------- errors


class Unauthenticated(DomainError):
    """Credentials (OTP, password, token) missing, wrong or expired."""

    code = "unauthenticated"


class NationalIdTaken(Conflict):
    code = "national_id_taken"


class KycLocked(Conflict):
    """Identity fields cannot change once KYC has passed."""

    code = "kyc_locked"


class BorrowerInactive(Conflict):
    code = "borrower_inactive"


class ConsentRequired(Conflict):
    code = "consent_required"


# --------------------------------------------------------------------------- masking


def mask_national_id(national_id: str) -> str:
    """``110101199003071234`` → ``110***********1234``: first 3 and last 4 kept."""
    value = national_id.strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(phone: str) -> str:
    """``+8613812345678`` or ``13812345678`` → ``138****5678``."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_bank_card(card_number: str) -> str:
    """Only the last 4 digits stay: ``6222021234567890123`` → ``***************0123``."""
    digits = re.sub(r"\D", "", card_number)
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``; separators (space, ·) are kept."""
    value = name.strip()
    if not value:
        return ""
    return value[0] + "".join(ch if ch in " ·-'" else "*" for ch in value[1:])


# --------------------------------------------------------------------------- KYC rules


@dataclass(frozen=True, slots=True)
class KycPolicy:
    """Who may hold an account that borrows: adult and below the product's age ceiling."""

    min_age: int = 18
    max_age: int = 60


_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
_CJK_NAME = re.compile(rf"[{_CJK}]+(?:·[{_CJK}]+)*")
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ '\-.][A-Za-z]+)*\.?")
#: Dots that people type for the separator in names such as 阿依古丽·买买提.
_NAME_DOTS = str.maketrans({"•": "·", "．": "·", "・": "·", "‧": "·", "⋅": "·", "∙": "·"})


def normalise_real_name(name: str) -> str:
    """Trim, fold compatibility forms (full-width letters), unify the name dot, collapse spaces."""
    value = unicodedata.normalize("NFKC", name).translate(_NAME_DOTS)
    value = " ".join(value.split())
    return value.replace(" · ", "·").replace(" ·", "·").replace("· ", "·")


#: The whole rule in one sentence, whichever part a name breaks (length or script).
NAME_RULE_ZH = "姓名须与身份证一致：2至30个汉字，或2至60个英文字母"
NAME_RULE_EN = "name as on your ID: 2 to 30 Chinese characters, or 2 to 60 Latin letters"


def real_name_problems(name: str) -> list[Problem]:
    """A legal name: Chinese characters (with · between parts) or Latin letters, not mixed."""
    value = normalise_real_name(name)
    if not value:
        return [Problem("real_name", _text("请填写真实姓名", "real name is required"))]
    if _CJK_NAME.fullmatch(value):
        if len(value) < 2 or len(value) > 30:
            return [Problem("real_name", _text(NAME_RULE_ZH, NAME_RULE_EN))]
        return []
    if _LATIN_NAME.fullmatch(value):
        if len(value) < 2 or len(value) > 60:
            return [Problem("real_name", _text(NAME_RULE_ZH, NAME_RULE_EN))]
        return []
    return [
        Problem(
            "real_name",
            _text(NAME_RULE_ZH, NAME_RULE_EN),
        )
    ]


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Whole years completed on ``on`` (a 29 February birthday falls on 1 March in other years)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_problems(birth_date: dt.date, on: dt.date, policy: KycPolicy) -> list[Problem]:
    if birth_date > on:
        return [
            Problem("national_id", _text("身份证出生日期晚于今天", "birth date is in the future"))
        ]
    age = age_on(birth_date, on)
    if age < policy.min_age:
        return [
            Problem(
                "national_id",
                _text(
                    f"申请人须年满{policy.min_age}周岁",
                    f"applicant must be at least {policy.min_age}",
                ),
            )
        ]
    if age > policy.max_age:
        return [
            Problem(
                "national_id",
                _text(
                    f"申请人年龄不得超过{policy.max_age}周岁",
                    f"applicant must be at most {policy.max_age}",
                ),
            )
        ]
    return []


# --------------------------------------------------------------------------- borrower


class BorrowerStatus(enum.StrEnum):
    REGISTERED = "registered"  # phone verified by OTP
    KYC_PASSED = "kyc_passed"  # identity, age and bank card checked; may apply for credit
    FROZEN = "frozen"  # blocked by operations (fraud, request of the borrower, court order…)
    CLOSED = "closed"  # account closed; kept for the retention period, never reopened


@dataclass(frozen=True, slots=True)
class KycProfile:
    """Identity as checked at KYC (values already validated and normalised by the caller)."""

    real_name: str
    national_id: str
    birth_date: dt.date
    bank_card: str
    verified_at: dt.datetime


@dataclass(slots=True)
class Borrower:
    borrower_id: str
    phone: str  # E.164, e.g. +8613812345678
    registered_at: dt.datetime
    status: BorrowerStatus = BorrowerStatus.REGISTERED
    kyc: KycProfile | None = None
    freeze_reason: str = ""
    last_login_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        self.status = BorrowerStatus(self.status)
        if self.status is BorrowerStatus.KYC_PASSED and self.kyc is None:
            raise ValidationFailed([Problem("kyc", "a kyc_passed borrower needs a KYC profile")])

    @classmethod
    def register(cls, borrower_id: str, phone: str, at: dt.datetime) -> Borrower:
        return cls(borrower_id=borrower_id, phone=phone, registered_at=at, last_login_at=at)

    def _ensure_open(self) -> None:
        if self.status is BorrowerStatus.CLOSED:
            raise BorrowerInactive(_text("账户已注销", f"borrower {self.borrower_id} is closed"))
        if self.status is BorrowerStatus.FROZEN:
            raise BorrowerInactive(_text("账户已冻结", f"borrower {self.borrower_id} is frozen"))

    def record_login(self, at: dt.datetime) -> None:
        """A frozen borrower may still sign in (to see and repay loans); a closed one may not."""
        if self.status is BorrowerStatus.CLOSED:
            raise BorrowerInactive(_text("账户已注销", f"borrower {self.borrower_id} is closed"))
        self.last_login_at = at

    def pass_kyc(self, profile: KycProfile) -> None:
        """Attach the checked identity. Once passed, only the bank card may change."""
        self._ensure_open()
        if self.kyc is not None and (
            self.kyc.national_id != profile.national_id or self.kyc.real_name != profile.real_name
        ):
            raise KycLocked(
                _text("实名信息已认证，不能修改", "identity is verified and cannot change"),
                [
                    Problem(
                        "national_id", _text("实名信息已认证，不能修改", "identity cannot change")
                    )
                ],
            )
        self.kyc = profile
        self.status = BorrowerStatus.KYC_PASSED

    def ensure_can_borrow(self) -> KycProfile:
        """The identity to lend to; refused before KYC, when frozen or closed."""
        self._ensure_open()
        if self.kyc is None:
            raise BorrowerInactive(
                _text("请先完成实名认证", "complete identity verification first"),
                [Problem("kyc", _text("请先完成实名认证", "identity verification required"))],
            )
        return self.kyc

    def freeze(self, reason: str) -> None:
        if self.status is BorrowerStatus.CLOSED:
            raise BorrowerInactive(f"borrower {self.borrower_id} is closed")
        if not reason.strip():
            raise ValidationFailed([Problem("reason", "a reason is required to freeze a borrower")])
        self.status = BorrowerStatus.FROZEN
        self.freeze_reason = reason.strip()

    def unfreeze(self) -> None:
        if self.status is not BorrowerStatus.FROZEN:
            raise Conflict(f"borrower {self.borrower_id} is not frozen")
        self.status = BorrowerStatus.REGISTERED if self.kyc is None else BorrowerStatus.KYC_PASSED
        self.freeze_reason = ""

    def close(self) -> None:
        self.status = BorrowerStatus.CLOSED


# --------------------------------------------------------------------------- consents


class ConsentPurpose(enum.StrEnum):
    CREDIT_REPORT_QUERY = "credit_report_query"  # 征信查询授权
    DATA_USE = "data_use"  # 个人信息处理授权
    E_CONTRACT = "e_contract"  # 电子合同签署
    MARKETING = "marketing"  # 营销信息（可随时撤回）


#: A credit application may not be decided without these.
REQUIRED_FOR_CREDIT: tuple[ConsentPurpose, ...] = (
    ConsentPurpose.CREDIT_REPORT_QUERY,
    ConsentPurpose.DATA_USE,
)

_CONSENT_LABELS: Mapping[ConsentPurpose, str] = {
    ConsentPurpose.CREDIT_REPORT_QUERY: "征信查询授权",
    ConsentPurpose.DATA_USE: "个人信息处理授权",
    ConsentPurpose.E_CONTRACT: "电子合同签署授权",
    ConsentPurpose.MARKETING: "营销信息授权",
}

_TEXT_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")


@dataclass(slots=True)
class Consent:
    """One grant of one purpose, with the version of the text the borrower saw."""

    consent_id: str
    borrower_id: str
    purpose: ConsentPurpose
    text_version: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None = None
    ip_address: str = ""
    device_id: str = ""

    def __post_init__(self) -> None:
        self.purpose = ConsentPurpose(self.purpose)

    @classmethod
    def grant(
        cls,
        consent_id: str,
        borrower_id: str,
        purpose: str,
        text_version: str,
        at: dt.datetime,
        *,
        ip_address: str = "",
        device_id: str = "",
    ) -> Consent:
        problems: list[Problem] = []
        try:
            chosen = ConsentPurpose(purpose)
        except ValueError:
            allowed = ", ".join(p.value for p in ConsentPurpose)
            problems.append(
                Problem("purpose", _text("未知的授权用途", f"unknown purpose; one of {allowed}"))
            )
        if not _TEXT_VERSION.fullmatch(text_version or ""):
            problems.append(
                Problem(
                    "text_version",
                    _text("协议版本号无效", "text version must be 1-64 letters, digits, . _ -"),
                )
            )
        if problems:
            raise ValidationFailed(problems)
        return cls(consent_id, borrower_id, chosen, text_version, at, None, ip_address, device_id)

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    def withdraw(self, at: dt.datetime) -> None:
        if self.withdrawn_at is not None:
            raise Conflict(f"consent {self.consent_id} was already withdrawn")
        if at < self.granted_at:
            raise ValidationFailed([Problem("at", "withdrawal precedes the grant")])
        self.withdrawn_at = at


def active_consents(consents: Iterable[Consent]) -> dict[ConsentPurpose, Consent]:
    """The latest active grant per purpose."""
    latest: dict[ConsentPurpose, Consent] = {}
    for consent in consents:
        if not consent.is_active:
            continue
        held = latest.get(consent.purpose)
        if held is None or consent.granted_at >= held.granted_at:
            latest[consent.purpose] = consent
    return latest


def missing_consents(
    consents: Iterable[Consent], required: Sequence[ConsentPurpose] = REQUIRED_FOR_CREDIT
) -> list[ConsentPurpose]:
    held = active_consents(consents)
    return [purpose for purpose in required if purpose not in held]


def require_consents(
    consents: Iterable[Consent], required: Sequence[ConsentPurpose] = REQUIRED_FOR_CREDIT
) -> None:
    """Refuse (ConsentRequired, one problem per purpose) unless every purpose is granted."""
    missing = missing_consents(consents, required)
    if missing:
        raise ConsentRequired(
            _text("缺少必要授权", "consent required: " + ", ".join(m.value for m in missing)),
            [
                Problem(
                    f"consents.{m.value}",
                    _text(f"请先同意{_CONSENT_LABELS[m]}", "consent required"),
                )
                for m in missing
            ],
        )
