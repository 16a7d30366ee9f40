"""What the console's staff API routes ask for: the console desk (one per platform), the
signed-in staff member — from a bearer staff token, or for reads (GET) from the
console's session cookie, so the console's charts can call these endpoints — and the
permission a route needs (``domain.staff``; 403 ``forbidden`` otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from mobilend.api.ops_deps import staff_bearer
from mobilend.app.operations.ports import StaffActor
from mobilend.bootstrap.console import STAFF_ACCESS_COOKIE, ConsoleDesk, console_desk_for
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.staff import Permission, require


def console_desk(request: Request) -> ConsoleDesk:
    return console_desk_for(request.app.state.container)


ConsoleDeskDep = Annotated[ConsoleDesk, Depends(console_desk)]


def signed_in_staff(
    request: Request,
    desk: ConsoleDeskDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(staff_bearer)],
) -> StaffActor:
    token = ""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    elif request.method == "GET":
        # Reads only: a cookie is sent by the browser on its own, so a change made with
        # one could be forged by another site; changes need the bearer token.
        token = request.cookies.get(STAFF_ACCESS_COOKIE, "")
    if not token:
        raise Unauthenticated("请先以员工身份登录 (staff sign-in required)")
    return desk.staff_for(token)


SignedIn = Annotated[StaffActor, Depends(signed_in_staff)]


def allowed(permission: Permission) -> Callable[[StaffActor], StaffActor]:
    def check(staff: SignedIn) -> StaffActor:
        require(staff.roles, permission)
        return staff

    return check


P = Permission
Searcher = Annotated[StaffActor, Depends(allowed(P.SEARCH))]
AccountReader = Annotated[StaffActor, Depends(allowed(P.VIEW_ACCOUNTS))]
PiiRevealer = Annotated[StaffActor, Depends(allowed(P.REVEAL_PII))]
DecisionReader = Annotated[StaffActor, Depends(allowed(P.VIEW_DECISIONS))]
ReviewReader = Annotated[StaffActor, Depends(allowed(P.VIEW_REVIEWS))]
Reviewer = Annotated[StaffActor, Depends(allowed(P.DECIDE_REVIEWS))]
ApprovalReader = Annotated[StaffActor, Depends(allowed(P.VIEW_APPROVALS))]
AnalyticsReader = Annotated[StaffActor, Depends(allowed(P.VIEW_ANALYTICS))]
FinanceReader = Annotated[StaffActor, Depends(allowed(P.VIEW_FINANCE))]
FunderReader = Annotated[StaffActor, Depends(allowed(P.VIEW_FUNDERS))]
StressRunner = Annotated[StaffActor, Depends(allowed(P.RUN_STRESS_TEST))]
ProductReader = Annotated[StaffActor, Depends(allowed(P.VIEW_PRODUCTS))]
OperationsReader = Annotated[StaffActor, Depends(allowed(P.VIEW_OPERATIONS))]
AuditReader = Annotated[StaffActor, Depends(allowed(P.VIEW_AUDIT))]
