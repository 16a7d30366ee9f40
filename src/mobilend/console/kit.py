"""What every console page module shares: the per-request ``ConsolePage`` (language,
CSRF token, the signed-in staff member), the ``ConsoleKit`` (templates, the desk,
permission checks, rendering) and navigation entries.

Page modules import this, never ``site``: ``site`` builds the app and mounts them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from mobilend.app.onboarding.ports import TokenPair
from mobilend.app.operations.ports import StaffActor
from mobilend.bootstrap.console import STAFF_ACCESS_COOKIE, STAFF_REFRESH_COOKIE, ConsoleDesk
from mobilend.console import formatting
from mobilend.console.i18n import Translator
from mobilend.console.messages import CATALOGUE
from mobilend.console.security import CSRF_FIELD, CSRF_HEADER, check_csrf
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.staff import Permission, permissions_of, require

T = TypeVar("T")
HERE = Path(__file__).parent
PREFIX = "/console"


class SignInRequired(Exception):
    """The page needs a signed-in staff member."""


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str  # catalogue key of its label: nav.<key>
    href: str
    permission: Permission


@dataclass
class ConsolePage:
    request: Request
    t: Translator
    csrf_token: str
    staff: StaffActor | None = None
    #: A refreshed session to set on the way out.
    session: TokenPair | None = None

    def can(self, permission: Permission) -> bool:
        return self.staff is not None and permission in permissions_of(self.staff.roles)


def page_of(request: Request) -> ConsolePage:
    page: ConsolePage | None = getattr(request.state, "console", None)
    if page is None:
        raise RuntimeError("the console middleware did not run")
    return page


@dataclass
class ConsoleKit:
    desk: ConsoleDesk
    nav: list[NavEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters.update(formatting.FILTERS)
        self.templates.env.globals.update(
            CSRF_FIELD=CSRF_FIELD,
            CSRF_HEADER=CSRF_HEADER,
            P=Permission,
            PREFIX=PREFIX,
            FRACTION_COLUMNS=formatting.FRACTION_COLUMNS,
        )

    # -- who is asking ----------------------------------------------------------------
    def _resolve(self, request: Request) -> StaffActor:
        page = page_of(request)
        token = request.cookies.get(STAFF_ACCESS_COOKIE, "")
        if token:
            try:
                return self.desk.staff_for(token)
            except Unauthenticated:
                pass
        refresh = request.cookies.get(STAFF_REFRESH_COOKIE, "")
        if refresh:
            try:
                staff, pair = self.desk.refresh(refresh)
                page.session = pair
                return staff
            except Unauthenticated:
                pass
        raise SignInRequired()

    async def staff(self, request: Request) -> StaffActor:
        page = page_of(request)
        if page.staff is None:
            page.staff = await run_in_threadpool(self._resolve, request)
        return page.staff

    async def allowed(self, request: Request, permission: Permission) -> StaffActor:
        """The signed-in staff member, when one of their roles grants ``permission``."""
        staff = await self.staff(request)
        require(staff.roles, permission)
        return staff

    @staticmethod
    async def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    @staticmethod
    async def posted_form(request: Request) -> FormData:
        await check_csrf(request)
        return await request.form()

    # -- responses --------------------------------------------------------------------
    def visible_nav(self, page: ConsolePage) -> Sequence[NavEntry]:
        return [entry for entry in self.nav if page.can(entry.permission)]

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        page = page_of(request)
        values: dict[str, Any] = {
            "t": page.t,
            "lang": page.t.lang,
            "csrf_token": page.csrf_token,
            "path": request.url.path,
            "staff": page.staff,
            "can": page.can,
            "nav": self.visible_nav(page),
            "chart_labels": {
                **{k[4:]: page.t(k) for k in CATALOGUE if k.startswith("col.")},
                "chart.empty": page.t("chart.empty"),
            },
            "errors": {},
            "form": {},
        }
        values.update(context)
        return self.templates.TemplateResponse(request, template, values, status_code=status_code)

    @staticmethod
    def redirect(request: Request, url: str) -> Response:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
