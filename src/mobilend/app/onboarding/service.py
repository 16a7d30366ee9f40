"""Onboarding use cases: phone + OTP sign-in, sessions, KYC, consents.

Each call is one unit of work (one commit). Personal data is validated here, sealed
by the vault before it reaches a repository, and only masked on the way out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from mobilend.app.messaging import MessageGateway, OutgoingMessage
from mobilend.app.onboarding.abuse_limits import AbuseGuard
from mobilend.app.onboarding.pii import (
    NATIONAL_ID,
    OTP_CODE,
    PHONE,
    BorrowerProfile,
    check_identity,
    masked_profile,
    normalise_cn_mobile,
    seal,
    unseal,
)
from mobilend.app.onboarding.ports import RandomSource, TokenClaims, TokenIssuer, TokenPair
from mobilend.app.ports import Clock, IdSource, PiiVault, RateLimiter
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.borrowers import (
    Borrower,
    Consent,
    ConsentPurpose,
    KycPolicy,
    KycProfile,
    NationalIdTaken,
    Unauthenticated,
    active_consents,
    mask_phone,
)
from mobilend.domain.errors import GatewayUnavailable, NotFound, Problem, ValidationFailed
from mobilend.domain.limits import OtpAbuseLimits
from mobilend.domain.otp import (
    OtpChallenge,
    OtpDeliveryFailed,
    OtpOutcome,
    OtpPolicy,
    OtpRejected,
    ensure_can_send,
    is_well_formed_code,
    otp_code_from,
)

BORROWER = "borrower"

_SMS_TEXT = {
    "zh": "【{brand}】您的验证码是{code}，{minutes}分钟内有效。",
    "en": "[{brand}] Your verification code is {code}, valid for {minutes} minutes.",
}


@dataclass(frozen=True, slots=True)
class OnboardingSettings:
    otp: OtpPolicy = field(default_factory=OtpPolicy)
    kyc: KycPolicy = field(default_factory=KycPolicy)
    #: SMS signature (短信签名) shown in brackets at the start of each message.
    sms_brand: str = "mobilend"
    #: Dates a borrower sees (age on "today") are in this zone.
    local_zone: str = "Asia/Shanghai"
    #: Code sends and checks per client address, per phone and overall.
    limits: OtpAbuseLimits = field(default_factory=OtpAbuseLimits)


@dataclass(frozen=True, slots=True)
class OtpSent:
    phone: str  # masked
    expires_at: dt.datetime
    resend_after_seconds: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    borrower_id: str
    is_new: bool
    tokens: TokenPair


@dataclass(frozen=True, slots=True)
class ConsentView:
    purpose: str
    text_version: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None

    @classmethod
    def of(cls, consent: Consent) -> ConsentView:
        return cls(
            consent.purpose.value, consent.text_version, consent.granted_at, consent.withdrawn_at
        )


class Onboarding:
    def __init__(
        self,
        *,
        unit_of_work: UnitOfWorkFactory,
        vault: PiiVault,
        messages: MessageGateway,
        tokens: TokenIssuer,
        clock: Clock,
        ids: IdSource,
        random: RandomSource,
        settings: OnboardingSettings | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._vault = vault
        self._messages = messages
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._random = random
        self._settings = settings or OnboardingSettings()
        self._guard = AbuseGuard(limiter, vault, self._settings.limits)

    # -- sign-in ------------------------------------------------------------
    def request_otp(self, phone: str, *, locale: str = "zh", client_ip: str = "") -> OtpSent:
        """Send a fresh code by SMS. Refused inside the cool-down and past the daily cap.

        The message goes out before the commit: when the gateway refuses it, nothing
        is recorded and the borrower may ask again at once.
        """
        policy = self._settings.otp
        e164 = normalise_cn_mobile(phone)
        subject = self._vault.blind_index(PHONE, e164)
        now = self._clock.now()
        self._guard.before_send(client_ip, now)
        with self._uow() as uow:
            ensure_can_send(
                uow.onboarding.otps.sent_since(subject, now - dt.timedelta(days=1)), now, policy
            )
            challenge_id = self._ids.new_id()
            code = otp_code_from(self._random.randbelow(10**policy.digits), policy)
            code_hash = self._vault.blind_index(OTP_CODE, f"{challenge_id}:{code}")
            challenge = OtpChallenge.issue(challenge_id, subject, code_hash, now, policy)
            uow.onboarding.otps.add(challenge)
            template = _SMS_TEXT.get(locale, _SMS_TEXT["zh"])
            body = template.format(
                brand=self._settings.sms_brand, code=code, minutes=policy.ttl_minutes
            )
            self._send(OutgoingMessage(f"otp-{challenge_id}", "sms", e164, body, kind="service"))
            uow.commit()
        return OtpSent(
            mask_phone(e164), challenge.expires_at, int(policy.resend_cooldown.total_seconds())
        )

    def _send(self, message: OutgoingMessage) -> None:
        failure = _text("验证码发送失败，请稍后重试", "could not send the code; try again later")
        try:
            ack = self._messages.send(message)
        except GatewayUnavailable:
            raise OtpDeliveryFailed(failure) from None
        if not ack.accepted:
            raise OtpDeliveryFailed(failure)

    def verify_otp(self, phone: str, code: str, *, client_ip: str = "") -> SignedIn:
        """Open the latest challenge with ``code``; registers the phone on first sign-in."""
        policy = self._settings.otp
        e164 = normalise_cn_mobile(phone)
        code = (code or "").strip()
        if not is_well_formed_code(code, policy):
            raise ValidationFailed(
                [
                    Problem(
                        "code",
                        _text(
                            f"请输入{policy.digits}位数字验证码",
                            f"enter the {policy.digits}-digit code",
                        ),
                    )
                ]
            )
        subject = self._vault.blind_index(PHONE, e164)
        now = self._clock.now()
        self._guard.before_check(subject, client_ip, now)
        with self._uow() as uow:
            challenge = uow.onboarding.otps.latest(subject)
            if challenge is None:
                raise OtpRejected(OtpOutcome.MISSING, 0)
            presented = self._vault.blind_index(OTP_CODE, f"{challenge.challenge_id}:{code}")
            outcome = challenge.check(presented, now, policy)
            uow.onboarding.otps.save(challenge)
            if outcome is not OtpOutcome.ACCEPTED:
                uow.commit()  # the failed attempt counts
                raise OtpRejected(outcome, challenge.attempts_left(policy))
            sealed = uow.onboarding.borrowers.find_by_phone_index(subject)
            is_new = sealed is None
            if sealed is None:
                borrower = Borrower.register(self._ids.new_id(), e164, now)
                uow.onboarding.borrowers.add(seal(borrower, self._vault))
            else:
                borrower = unseal(sealed, self._vault)
                borrower.record_login(now)
                uow.onboarding.borrowers.save(seal(borrower, self._vault))
            uow.commit()
        tokens = self._tokens.issue(borrower.borrower_id, BORROWER, (), now)
        return SignedIn(borrower.borrower_id, is_new, tokens)

    def refresh_session(self, refresh_token: str) -> TokenPair:
        return self._tokens.refresh(refresh_token, self._clock.now())

    def sign_out(self, refresh_token: str) -> None:
        self._tokens.revoke(refresh_token, self._clock.now())

    def authenticate(self, access_token: str) -> str:
        """The borrower id an access token speaks for; Unauthenticated otherwise."""
        claims: TokenClaims = self._tokens.verify_access(access_token, self._clock.now())
        if claims.kind != BORROWER:
            raise Unauthenticated("not a borrower token")
        return claims.subject

    # -- identity -----------------------------------------------------------
    def submit_kyc(
        self, borrower_id: str, *, real_name: str, national_id: str, bank_card: str
    ) -> BorrowerProfile:
        """Check name, resident ID (checksum, birth date, age) and card; refuse an ID
        registered to another borrower. Once passed, only the bank card may change."""
        now = self._clock.now()
        today = now.astimezone(ZoneInfo(self._settings.local_zone)).date()
        identity = check_identity(
            real_name, national_id, bank_card, today=today, policy=self._settings.kyc
        )
        id_index = self._vault.blind_index(NATIONAL_ID, identity.national_id)
        with self._uow() as uow:
            borrower = self._load(uow, borrower_id)
            holder = uow.onboarding.borrowers.find_by_national_id_index(id_index)
            if holder is not None and holder.borrower_id != borrower_id:
                message = _text(
                    "该身份证号已被其他账户注册", "this resident ID belongs to another account"
                )
                raise NationalIdTaken(message, [Problem("national_id", message)])
            borrower.pass_kyc(
                KycProfile(
                    identity.real_name,
                    identity.national_id,
                    identity.birth_date,
                    identity.bank_card,
                    now,
                )
            )
            uow.onboarding.borrowers.save(seal(borrower, self._vault))
            uow.commit()
        return masked_profile(borrower)

    def profile(self, borrower_id: str) -> BorrowerProfile:
        with self._uow.reading() as uow:
            return masked_profile(self._load(uow, borrower_id))

    def load_borrower(self, borrower_id: str) -> Borrower:
        """The borrower with PII in the clear, for use cases that must send it on
        (credit decision, payout). Never return it to a client as is."""
        with self._uow.reading() as uow:
            return self._load(uow, borrower_id)

    def load_with_consents(self, borrower_id: str) -> tuple[Borrower, list[Consent]]:
        """``load_borrower`` and ``consents`` in one read (what an application or a
        signature checks first)."""
        with self._uow.reading() as uow:
            borrower = self._load(uow, borrower_id)
            grants = uow.onboarding.borrowers.consents(borrower_id)
        return borrower, sorted(grants, key=lambda c: c.granted_at)

    def borrower_in(self, uow: UnitOfWork, borrower_id: str) -> Borrower | None:
        """``load_borrower`` inside the caller's unit of work (None if there is none)."""
        sealed = uow.onboarding.borrowers.get(borrower_id)
        return unseal(sealed, self._vault) if sealed is not None else None

    def _load(self, uow: UnitOfWork, borrower_id: str) -> Borrower:
        found = self.borrower_in(uow, borrower_id)
        if found is None:
            raise NotFound(f"borrower {borrower_id} not found")
        return found

    # -- consents -----------------------------------------------------------
    def record_consent(
        self,
        borrower_id: str,
        purpose: str,
        text_version: str,
        at: dt.datetime | None = None,
        *,
        ip_address: str = "",
        device_id: str = "",
    ) -> ConsentView:
        """Record a grant with the text version shown. Granting the same purpose again
        supersedes the earlier grant (which stays on record, marked withdrawn)."""
        at = at or self._clock.now()
        with self._uow() as uow:
            self._require_borrower(uow, borrower_id)
            consent = Consent.grant(
                self._ids.new_id(),
                borrower_id,
                purpose,
                text_version,
                at,
                ip_address=ip_address,
                device_id=device_id,
            )
            earlier = active_consents(uow.onboarding.borrowers.consents(borrower_id)).get(
                consent.purpose
            )
            if earlier is not None and earlier.text_version == consent.text_version:
                return ConsentView.of(earlier)  # a repeated tap records nothing new
            if earlier is not None:
                earlier.withdraw(max(at, earlier.granted_at))
                uow.onboarding.borrowers.save_consent(earlier)
            uow.onboarding.borrowers.add_consent(consent)
            uow.commit()
        return ConsentView.of(consent)

    def withdraw_consent(
        self, borrower_id: str, purpose: str, at: dt.datetime | None = None
    ) -> ConsentView:
        at = at or self._clock.now()
        try:
            chosen = ConsentPurpose(purpose)
        except ValueError:
            raise ValidationFailed(
                [Problem("purpose", _text("未知的授权用途", "unknown purpose"))]
            ) from None
        with self._uow() as uow:
            self._require_borrower(uow, borrower_id)
            held = active_consents(uow.onboarding.borrowers.consents(borrower_id)).get(chosen)
            if held is None:
                raise NotFound(f"no active {chosen.value} consent for borrower {borrower_id}")
            held.withdraw(max(at, held.granted_at))
            uow.onboarding.borrowers.save_consent(held)
            uow.commit()
        return ConsentView.of(held)

    def consents(self, borrower_id: str) -> list[Consent]:
        """Every grant on record, oldest first (withdrawn ones included)."""
        with self._uow() as uow:
            self._require_borrower(uow, borrower_id)
            return sorted(
                uow.onboarding.borrowers.consents(borrower_id), key=lambda c: c.granted_at
            )

    @staticmethod
    def _require_borrower(uow: UnitOfWork, borrower_id: str) -> None:
        if uow.onboarding.borrowers.get(borrower_id) is None:
            raise NotFound(f"borrower {borrower_id} not found")


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"
