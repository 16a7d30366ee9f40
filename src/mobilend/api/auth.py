"""Sign-in by phone and one-time code; session refresh and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mobilend.api.deps import ClientIp, Journey
from mobilend.api.errors import RATE_STATUSES, error_responses
from mobilend.api.schemas import (
    OtpRequestIn,
    OtpSentOut,
    OtpVerifyIn,
    RefreshIn,
    SignedInOut,
    TokensOut,
)

router = APIRouter(prefix="/auth", tags=["auth 登录"])


@router.post(
    "/otp",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OtpSentOut,
    responses=error_responses(*RATE_STATUSES),
    summary="Send a sign-in code by SMS 发送验证码",
)
def request_otp(body: OtpRequestIn, journey: Journey, ip: ClientIp) -> OtpSentOut:
    sent = journey.onboarding.request_otp(body.phone, locale=body.locale, client_ip=ip)
    return OtpSentOut(
        phone=sent.phone, expires_at=sent.expires_at, resend_after_seconds=sent.resend_after_seconds
    )


@router.post(
    "/otp/verify",
    response_model=SignedInOut,
    summary="Sign in (registers a new phone) 验证码登录",
    responses=error_responses(429),
)
def verify_otp(body: OtpVerifyIn, journey: Journey, ip: ClientIp) -> SignedInOut:
    signed_in = journey.onboarding.verify_otp(body.phone, body.code, client_ip=ip)
    tokens = signed_in.tokens
    return SignedInOut(
        borrower_id=signed_in.borrower_id,
        is_new=signed_in.is_new,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_type=tokens.token_type,
        access_expires_at=tokens.access_expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
    )


@router.post("/refresh", response_model=TokensOut, summary="New token pair 刷新登录")
def refresh(body: RefreshIn, journey: Journey) -> TokensOut:
    tokens = journey.onboarding.refresh_session(body.refresh_token)
    return TokensOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_type=tokens.token_type,
        access_expires_at=tokens.access_expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
    )


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out everywhere 退出登录"
)
def logout(body: RefreshIn, journey: Journey) -> Response:
    journey.onboarding.sign_out(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
