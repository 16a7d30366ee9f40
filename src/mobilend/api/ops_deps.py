"""What the staff routes ask for: the operations desk (``bootstrap.operations``: staff
directory, audit log, staff tokens and the servicing and payout desks, wired once per
service from the platform), the signed-in staff member, and the roles a route needs.

Staff tokens are the platform's JWTs with ``kind="staff"`` and the member's roles; a
borrower's token never passes here, nor a staff token on the borrower routes. Each call
also re-reads the staff account, so a deactivated member loses access at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mobilend.adapters.auth import Role
from mobilend.api.params import IsoDate
from mobilend.api.schemas import ID_PATTERN
from mobilend.bootstrap.operations import OperationsDesk, build_operations_desk
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.errors import DomainError

#: The ``kind`` claim of staff tokens.
STAFF = "staff"

staff_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffToken",
    description="Staff access token from POST /api/v1/ops/auth/login",
)


class Forbidden(DomainError):
    """Signed in, but none of the caller's roles may do this."""

    code = "forbidden"


_build_lock = threading.Lock()


def operations_desk(request: Request) -> OperationsDesk:
    state = request.app.state
    desk: OperationsDesk | None = getattr(state, "operations_desk", None)
    if desk is None:
        with _build_lock:
            desk = getattr(state, "operations_desk", None)
            if desk is None:
                desk = build_operations_desk(state.container)
                state.operations_desk = desk
    return desk


Desk = Annotated[OperationsDesk, Depends(operations_desk)]


@dataclass(frozen=True, slots=True)
class StaffSession:
    user_id: str
    username: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        return f"staff:{self.user_id}"

    def has_any(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)


def current_staff(
    desk: Desk,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(staff_bearer)],
) -> StaffSession:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("请先以员工身份登录 (staff sign-in required)")
    claims = desk.tokens.verify_access(credentials.credentials, desk.now())
    if claims.kind != STAFF:
        raise Unauthenticated("not a staff token")
    user = desk.staff_store.by_id(claims.subject)
    if user is None or not user.active:
        raise Unauthenticated("staff account disabled")
    # Roles as they are now, not as they were at sign-in: a revoked role stops at once.
    return StaffSession(user.user_id, user.username, frozenset(r.value for r in user.roles))


Staff = Annotated[StaffSession, Depends(current_staff)]


def require_roles(*roles: Role) -> Callable[[StaffSession], StaffSession]:
    """A dependency passing staff holding any of ``roles``; 403 ``forbidden`` otherwise."""
    allowed = frozenset(r.value for r in roles)

    def check(staff: Staff) -> StaffSession:
        if not staff.has_any(allowed):
            needed = ", ".join(sorted(allowed))
            raise Forbidden(f"无权操作 (needs one of the roles: {needed})")
        return staff

    return check


#: Who may read what: the team doing the work, admins, and auditors (who change nothing).
READ_OPERATIONS = (Role.OPERATIONS, Role.FINANCE, Role.ADMIN, Role.AUDITOR)
READ_FINANCE = (Role.FINANCE, Role.ADMIN, Role.AUDITOR)
READ_COLLECTIONS = (Role.COLLECTIONS, Role.RISK, Role.ADMIN, Role.AUDITOR)
ANY_STAFF = tuple(Role)

Operator = Annotated[StaffSession, Depends(require_roles(Role.OPERATIONS))]
OperationsReader = Annotated[StaffSession, Depends(require_roles(*READ_OPERATIONS))]
FinanceReader = Annotated[StaffSession, Depends(require_roles(*READ_FINANCE))]
CollectionsReader = Annotated[StaffSession, Depends(require_roles(*READ_COLLECTIONS))]
AnyStaff = Annotated[StaffSession, Depends(require_roles(*ANY_STAFF))]

TransferIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Incoming transfer id")]


BusinessDatePath = Annotated[IsoDate, Path(description="Business date (YYYY-MM-DD)")]
LoanIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Loan id")]
