"""Staff sign-in and sign-out (password, argon2, lock-out after repeated failures)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.bootstrap.console import STAFF_REFRESH_COOKIE
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry, page_of
from mobilend.console.security import clear_staff_session, set_staff_session
from mobilend.domain.borrowers import Unauthenticated

NAV: tuple[NavEntry, ...] = ()


def _next(value: str) -> str:
    """Only a path inside the console: never an open redirect."""
    if value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()

    @router.get("/login")
    async def login_form(request: Request, next: str = "") -> Response:
        return kit.render(request, "login.html", next=_next(next), title_key="login.title")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await kit.posted_form(request)
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        target = _next(str(form.get("next", "")))
        try:
            _staff, pair = await kit.call(kit.desk.sign_in, username, password)
        except Unauthenticated:
            return kit.render(
                request,
                "login.html",
                status_code=401,
                next=target,
                title_key="login.title",
                form={"username": username[:64]},
                errors={"_": page_of(request).t("login.refused")},
            )
        response = kit.redirect(request, target)
        set_staff_session(response, request, pair.access_token, pair.refresh_token)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await kit.posted_form(request)
        staff = await kit.staff(request)
        await kit.call(kit.desk.sign_out, staff, request.cookies.get(STAFF_REFRESH_COOKIE, ""))
        response = kit.redirect(request, PREFIX + "/login")
        clear_staff_session(response)
        page_of(request).session = None
        return response

    return router
