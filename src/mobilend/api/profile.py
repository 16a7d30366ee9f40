"""The borrower's profile, identity verification (KYC) and consents."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from mobilend.api.deps import BorrowerId, ClientIp, DeviceId, Journey
from mobilend.api.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentPurposeName,
    ConsentTextOut,
    KycIn,
    Page,
    ProfileOut,
)
from mobilend.api.views import consent_out, profile_out
from mobilend.app.onboarding.consent_texts import CONSENT_TEXTS, check_text_version
from mobilend.app.onboarding.service import ConsentView

router = APIRouter(tags=["profile 个人信息"])


@router.get("/me", response_model=ProfileOut, summary="My profile (identity masked) 我的资料")
def me(borrower_id: BorrowerId, journey: Journey) -> ProfileOut:
    return profile_out(journey.onboarding.profile(borrower_id))


@router.put("/me/kyc", response_model=ProfileOut, summary="Verify my identity 实名认证")
def submit_kyc(body: KycIn, borrower_id: BorrowerId, journey: Journey) -> ProfileOut:
    profile = journey.onboarding.submit_kyc(
        borrower_id,
        real_name=body.real_name,
        national_id=body.national_id,
        bank_card=body.bank_card,
    )
    return profile_out(profile)


@router.get(
    "/consent-texts",
    response_model=Page[ConsentTextOut],
    summary="The consent texts in force 授权协议文本",
)
def consent_texts() -> Page[ConsentTextOut]:
    return Page[ConsentTextOut](
        items=[
            ConsentTextOut(
                purpose=t.purpose,
                text_version=t.text_version,
                required_for=list(t.required_for),
                title_zh=t.title_zh,
                title_en=t.title_en,
                body_zh=t.body_zh,
                body_en=t.body_en,
            )
            for t in CONSENT_TEXTS.values()
        ]
    )


@router.get("/me/consents", response_model=Page[ConsentOut], summary="My consents 我的授权")
def my_consents(borrower_id: BorrowerId, journey: Journey) -> Page[ConsentOut]:
    consents = journey.onboarding.consents(borrower_id)
    return Page[ConsentOut](items=[consent_out(ConsentView.of(c)) for c in consents])


@router.post(
    "/me/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOut,
    summary="Grant a consent for the text shown 同意授权",
)
def grant_consent(
    body: ConsentIn,
    borrower_id: BorrowerId,
    journey: Journey,
    ip: ClientIp,
    device_id: DeviceId = "",
) -> ConsentOut:
    check_text_version(body.purpose, body.text_version)
    view = journey.onboarding.record_consent(
        borrower_id, body.purpose, body.text_version, ip_address=ip, device_id=device_id
    )
    return consent_out(view)


@router.delete(
    "/me/consents/{purpose}", response_model=ConsentOut, summary="Withdraw a consent 撤回授权"
)
def withdraw_consent(
    borrower_id: BorrowerId,
    journey: Journey,
    purpose: ConsentPurposeName = Path(description="Consent purpose"),
) -> ConsentOut:
    return consent_out(journey.onboarding.withdraw_consent(borrower_id, purpose))
