"""Maker-checker use cases: ask for an action, approve it (which carries it out in the
same transaction), reject it, or withdraw it.

What each kind of action does is an ``Executor`` registered by the composition root
(``executors.py`` has the platform's own; a feature such as collections adds its
settlement executor the same way). A kind with no executor can still be asked for and
approved only once one is registered, so nothing is approved that cannot be carried out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.app.operations.ports import AuditTrail, StaffActor
from mobilend.app.ports import Clock
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.approvals import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    new_request,
)
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import Conflict
from mobilend.domain.staff import Permission, require

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExecutionContext:
    new_id: Callable[[], str]
    on: dt.date
    now: dt.datetime
    cost_caps: CostCapPolicy
    refund_cash_account: str


class Executor(Protocol):
    """Carries out an approved request inside the approving transaction; returns what
    was done (plain JSON values) for the request's record."""

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        """Refuse a request that could not be carried out (asked at request time)."""
        ...

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]: ...

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        """Whatever waited on the request goes back (e.g. a referral to the queue)."""
        ...


class NoExecutor(Conflict):
    code = "no_executor"


@dataclass
class ApprovalDesk:
    uow_factory: UnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    today: Callable[[], dt.date]
    audit: AuditTrail
    cost_caps: CostCapPolicy
    refund_cash_account: str = "cash:refunds"
    executors: dict[ApprovalKind, Executor] = field(default_factory=dict)
    #: What is said once an approval of a kind committed (e.g. the borrower told of an
    #: approved settlement offer); a failure there is logged, the approval stands.
    after_approval: dict[ApprovalKind, Callable[[ApprovalRequest], None]] = field(
        default_factory=dict
    )

    def context(self) -> ExecutionContext:
        return ExecutionContext(
            self.new_id, self.today(), self.clock.now(), self.cost_caps, self.refund_cash_account
        )

    def executor(self, kind: ApprovalKind) -> Executor:
        found = self.executors.get(kind)
        if found is None:
            raise NoExecutor(f"尚不支持此类审批 (no executor for {kind.value} yet)")
        return found

    @staticmethod
    def record(uow: UnitOfWork, staff: StaffActor, action: str, request: ApprovalRequest) -> None:
        """Queue the audit record on the transaction that makes the change."""
        uow.audit.record(
            staff.actor,
            action,
            f"approval:{request.request_id}",
            {"kind": request.kind.value, "target": request.target},
        )


def request_approval_in(
    uow: UnitOfWork,
    desk: ApprovalDesk,
    staff: StaffActor,
    *,
    kind: ApprovalKind,
    target: str,
    payload: Mapping[str, Any],
    reason: str,
) -> ApprovalRequest:
    """A pending request, checked now so the checker sees only what can be carried out.
    One pending request per kind and target."""
    request = new_request(
        request_id=desk.new_id(),
        kind=kind,
        target=target,
        payload=payload,
        reason=reason,
        maker=staff.actor,
        maker_roles=staff.roles,
        at=desk.clock.now(),
    )
    desk.executor(kind).check(uow, request, desk.context())
    if uow.operations.approvals.pending_for(kind, target) is not None:
        raise Conflict(f"已有待审批的申请 (a {kind.value} of {target} is already waiting)")
    uow.operations.approvals.add(request)
    desk.record(uow, staff, "approval.requested", request)
    return request


def request_approval(
    desk: ApprovalDesk,
    staff: StaffActor,
    *,
    kind: ApprovalKind,
    target: str,
    payload: Mapping[str, Any],
    reason: str,
) -> ApprovalRequest:
    with desk.uow_factory() as uow:
        request = request_approval_in(
            uow, desk, staff, kind=kind, target=target, payload=payload, reason=reason
        )
        uow.commit()
    return request


def approve_in(
    uow: UnitOfWork,
    desk: ApprovalDesk,
    staff: StaffActor,
    request_id: str,
    note: str = "",
) -> ApprovalRequest:
    """Approve (a second person, holding the kind's checker permission) and carry out."""
    request = uow.operations.approvals.get(request_id, for_update=True)
    approved = request.approve(staff.actor, staff.roles, desk.clock.now(), note.strip())
    result = desk.executor(approved.kind).execute(uow, approved, desk.context())
    done = approved.with_result(result)
    uow.operations.approvals.save(done)
    desk.record(uow, staff, "approval.approved", done)
    return done


def approve(
    desk: ApprovalDesk, staff: StaffActor, request_id: str, note: str = ""
) -> ApprovalRequest:
    with desk.uow_factory() as uow:
        done = approve_in(uow, desk, staff, request_id, note)
        uow.commit()
    announce = desk.after_approval.get(done.kind)
    if announce is not None:
        try:
            announce(done)
        except Exception:  # the approval committed; telling about it can be redone
            log.exception("after approval %s of %s", done.request_id, done.kind.value)
    return done


def reject(desk: ApprovalDesk, staff: StaffActor, request_id: str, note: str) -> ApprovalRequest:
    with desk.uow_factory() as uow:
        request = uow.operations.approvals.get(request_id, for_update=True)
        rejected = request.reject(staff.actor, staff.roles, desk.clock.now(), note.strip())
        executor = desk.executors.get(rejected.kind)
        if executor is not None:
            executor.rejected(uow, rejected, desk.context())
        uow.operations.approvals.save(rejected)
        desk.record(uow, staff, "approval.rejected", rejected)
        uow.commit()
    return rejected


def cancel(desk: ApprovalDesk, staff: StaffActor, request_id: str) -> ApprovalRequest:
    with desk.uow_factory() as uow:
        request = uow.operations.approvals.get(request_id, for_update=True)
        cancelled = request.cancel(staff.actor, desk.clock.now())
        uow.operations.approvals.save(cancelled)
        desk.record(uow, staff, "approval.cancelled", cancelled)
        uow.commit()
    return cancelled


def approvals(
    desk: ApprovalDesk, staff: StaffActor, status: ApprovalStatus | None, limit: int = 100
) -> list[ApprovalRequest]:
    require(staff.roles, Permission.VIEW_APPROVALS)
    with desk.uow_factory() as uow:
        return uow.operations.approvals.list(status, limit)


def approval(desk: ApprovalDesk, staff: StaffActor, request_id: str) -> ApprovalRequest:
    require(staff.roles, Permission.VIEW_APPROVALS)
    with desk.uow_factory() as uow:
        return uow.operations.approvals.get(request_id)
