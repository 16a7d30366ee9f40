"""Pages: sign-in with phone + SMS code, identity verification (KYC), consents, "Me"."""

from __future__ import annotations

import contextlib
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.domain.borrowers import ConsentPurpose, active_consents
from mobilend.domain.errors import DomainError
from mobilend.domain.otp import OtpOutcome, OtpRateLimited, OtpRejected
from mobilend.web.kit import SignInRequired, WebKit, page_of, problems_by_field
from mobilend.web.security import REFRESH_COOKIE, clear_session, is_secure, set_session

#: The consent texts the pages show (messages ``consent.<purpose>.text``) and their
#: versions: a change of wording gets a new version, recorded with each grant.
CONSENT_VERSIONS: dict[ConsentPurpose, str] = {
    ConsentPurpose.CREDIT_REPORT_QUERY: "web-crq-2026.1",
    ConsentPurpose.DATA_USE: "web-data-2026.1",
    ConsentPurpose.E_CONTRACT: "web-esign-2026.1",
    ConsentPurpose.MARKETING: "web-mkt-2026.1",
}
#: Required before applying and signing; marketing stays optional.
REQUIRED_CONSENTS = (
    ConsentPurpose.CREDIT_REPORT_QUERY,
    ConsentPurpose.DATA_USE,
    ConsentPurpose.E_CONTRACT,
)
OTP_MINUTES = 5
#: The number a code was sent to, kept while the code is valid so the code step
#: survives a reload (HttpOnly, this site only; the borrower's own input).
LOGIN_PHONE_COOKIE = "mobilend_login_phone"
_LOGIN_PHONE_MAX_AGE = OTP_MINUTES * 60


def _safe_next(target: str) -> str:
    """Only local paths: never bounce a borrower to another site after sign-in.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` becomes ``//evil.example`` — another site. Any control
    character, whitespace or backslash, and anything with a scheme or host, gives ``/``.
    """
    if (
        not target.startswith("/")
        or target.startswith("//")
        or any(c.isspace() or not c.isprintable() or c == "\\" for c in target)
        or len(target) > 2000
    ):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _masked(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[:3] + "****" + digits[-4:] if len(digits) == 11 else phone


def _remember_phone(response: Response, request: Request, phone: str) -> None:
    response.set_cookie(
        LOGIN_PHONE_COOKIE,
        phone[:20],
        max_age=_LOGIN_PHONE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/login",
    )


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    onboarding = kit.journey.onboarding

    # -- sign-in ---------------------------------------------------------------
    def code_step(
        request: Request,
        phone: str,
        target: str,
        *,
        status_code: int = 200,
        sent_to: str = "",
        wait_seconds: int = 0,
        errors: dict[str, str] | None = None,
    ) -> Response:
        """The code form: shown after a code was sent, on a reload, and during the
        resend cool-down, so a code already received can always be typed in."""
        return kit.render(
            request,
            "login.html",
            status_code=status_code,
            step="code",
            next=target,
            form={"phone": phone},
            sent_to=sent_to,
            masked_phone=_masked(phone),
            minutes=OTP_MINUTES,
            wait_seconds=wait_seconds,
            errors=errors or {},
        )

    @router.get("/login")
    async def login(request: Request) -> Response:
        target = _safe_next(request.query_params.get("next", "/"))
        with contextlib.suppress(SignInRequired):
            await kit.signed_in(request)
            return kit.redirect(request, target)  # signed in already
        return kit.render(request, "login.html", step="phone", next=target)

    @router.get("/login/code")
    async def code_form(request: Request) -> Response:
        """The code step again (a reload, or back from another page)."""
        target = _safe_next(request.query_params.get("next", "/"))
        phone = request.cookies.get(LOGIN_PHONE_COOKIE, "")
        if not phone:
            query = "?next=" + quote(target, safe="/") if target != "/" else ""
            return kit.redirect(request, "/login" + query)
        return code_step(request, phone, target)

    @router.post("/login/code")
    async def send_code(request: Request) -> Response:
        form = await kit.posted_form(request)
        page = page_of(request)
        phone = str(form.get("phone", "")).strip()
        target = _safe_next(str(form.get("next", "/")))
        try:
            sent = await kit.call(
                onboarding.request_otp, phone, locale=page.t.lang, client_ip=page.ip_address
            )
        except OtpRateLimited as exc:
            # A code went out moments ago: keep the box for it; the resend button says
            # when to ask again (once: no second copy of the wait under it).
            response = code_step(
                request, phone, target, status_code=429, wait_seconds=exc.retry_after_seconds
            )
            _remember_phone(response, request, phone)
            return response
        except DomainError as exc:
            return kit.render(
                request,
                "login.html",
                status_code=422,
                step="phone",
                next=target,
                form={"phone": phone},
                errors=problems_by_field(exc, page.t),
            )
        response = code_step(
            request, phone, target, sent_to=sent.phone, wait_seconds=sent.resend_after_seconds
        )
        _remember_phone(response, request, phone)
        return response

    @router.post("/login")
    async def sign_in(request: Request) -> Response:
        form = await kit.posted_form(request)
        page = page_of(request)
        phone = str(form.get("phone", "")).strip()
        code = str(form.get("code", "")).strip()
        target = _safe_next(str(form.get("next", "/")))
        try:
            signed = await kit.call(onboarding.verify_otp, phone, code, client_ip=page.ip_address)
        except OtpRejected as exc:
            message = problems_by_field(exc, page.t).get("code", "")
            if exc.outcome is OtpOutcome.WRONG_CODE and exc.attempts_left > 0:
                message += "，" if page.t.lang == "zh" else ". "
                message += page.t("login.attempts_left", n=exc.attempts_left)
            return code_step(request, phone, target, status_code=422, errors={"code": message})
        except DomainError as exc:
            errors = dict(problems_by_field(exc, page.t))
            if "phone" in errors:  # the number itself is wrong: start again from it
                return kit.render(
                    request,
                    "login.html",
                    status_code=422,
                    step="phone",
                    next=target,
                    form={"phone": phone},
                    errors=errors,
                )
            return code_step(request, phone, target, status_code=422, errors=errors)
        response = kit.redirect(request, target)
        set_session(response, request, signed.tokens.access_token, signed.tokens.refresh_token)
        response.delete_cookie(LOGIN_PHONE_COOKIE, path="/login")
        return response

    @router.post("/logout")
    async def sign_out(request: Request) -> Response:
        await kit.posted_form(request)
        refresh = request.cookies.get(REFRESH_COOKIE, "")
        if refresh:
            # Already expired or revoked: signing out still clears the cookies.
            with contextlib.suppress(DomainError):
                await kit.call(onboarding.sign_out, refresh)
        response = kit.redirect(request, "/login")
        clear_session(response)
        return response

    # -- identity ----------------------------------------------------------------
    @router.get("/kyc")
    async def kyc(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        profile = await kit.call(onboarding.profile, borrower_id)
        return kit.render(request, "kyc.html", profile=profile)

    @router.post("/kyc")
    async def submit_kyc(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        values = {
            name: str(form.get(name, "")).strip()
            for name in ("real_name", "national_id", "bank_card")
        }
        try:
            await kit.call(onboarding.submit_kyc, borrower_id, **values)
        except DomainError as exc:
            profile = await kit.call(onboarding.profile, borrower_id)
            return kit.render(
                request,
                "kyc.html",
                status_code=422,
                profile=profile,
                form=values,
                errors=problems_by_field(exc, page_of(request).t),
            )
        return kit.redirect(request, "/consents")

    # -- consents ----------------------------------------------------------------
    async def consent_page(request: Request, borrower_id: str, **extra: object) -> Response:
        held = active_consents(await kit.call(onboarding.consents, borrower_id))
        choices = [
            {
                "purpose": purpose.value,
                "version": version,
                "required": purpose in REQUIRED_CONSENTS,
                "granted": held.get(purpose),
            }
            for purpose, version in CONSENT_VERSIONS.items()
        ]
        return kit.render(request, "consents.html", choices=choices, **extra)

    @router.get("/consents")
    async def consents(request: Request) -> Response:
        return await consent_page(request, await kit.signed_in(request))

    @router.post("/consents")
    async def grant(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        page = page_of(request)
        ticked = {str(v) for v in form.getlist("purpose")}
        if not all(p.value in ticked for p in REQUIRED_CONSENTS):
            return await consent_page(
                request, borrower_id, errors={"_": page.t("consents.missing")}
            )
        for purpose, version in CONSENT_VERSIONS.items():
            if purpose.value in ticked:
                await kit.call(
                    onboarding.record_consent,
                    borrower_id,
                    purpose.value,
                    version,
                    ip_address=page.ip_address,
                    device_id=page.device_id,
                )
        return kit.redirect(request, "/apply")

    # -- me ------------------------------------------------------------------------
    @router.get("/me")
    async def me(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        profile = await kit.call(onboarding.profile, borrower_id)
        held = active_consents(await kit.call(onboarding.consents, borrower_id))
        return kit.render(
            request,
            "me.html",
            profile=profile,
            consents=sorted(held.values(), key=lambda c: c.granted_at),
        )

    return router
