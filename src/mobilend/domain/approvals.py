"""Maker-checker: actions that need a second person.

A maker asks for an action (write off a loan, refund money, change a product or a funder,
approve a referred application above the limit…) with a reason; the request waits until
someone else holding the checker permission of its kind approves or rejects it. Only an
approved request is carried out, once. The maker can never be the checker, and nobody
may act outside their permissions: the rules live here so every entry point (console
page, API route, command line) gets the same answer.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.staff import Forbidden, Permission, require


class ApprovalKind(enum.StrEnum):
    WRITE_OFF = "write_off"
    REFUND = "refund"
    SETTLEMENT = "settlement"
    MANUAL_APPROVAL = "manual_approval"  # a referred application approved above the limit
    PRODUCT_CHANGE = "product_change"
    FUNDER_CHANGE = "funder_change"
    POLICY_PROMOTION = "policy_promotion"
    MODEL_PROMOTION = "model_promotion"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # approved and carried out, in the same transaction
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # withdrawn by its maker


@dataclass(frozen=True, slots=True)
class KindRule:
    maker: Permission
    checker: Permission
    label_zh: str
    label_en: str


KIND_RULES: Mapping[ApprovalKind, KindRule] = {
    ApprovalKind.WRITE_OFF: KindRule(
        Permission.REQUEST_WRITE_OFF, Permission.APPROVE_WRITE_OFF, "核销", "write-off"
    ),
    ApprovalKind.REFUND: KindRule(
        Permission.REQUEST_REFUND, Permission.APPROVE_REFUND, "退款", "refund"
    ),
    ApprovalKind.SETTLEMENT: KindRule(
        Permission.REQUEST_SETTLEMENT, Permission.APPROVE_SETTLEMENT, "和解结清", "settlement"
    ),
    ApprovalKind.MANUAL_APPROVAL: KindRule(
        Permission.REQUEST_MANUAL_APPROVAL,
        Permission.APPROVE_MANUAL_APPROVAL,
        "人工审批授信",
        "manual credit approval",
    ),
    ApprovalKind.PRODUCT_CHANGE: KindRule(
        Permission.CHANGE_PRODUCTS, Permission.APPROVE_PRODUCTS, "产品变更", "product change"
    ),
    ApprovalKind.FUNDER_CHANGE: KindRule(
        Permission.CHANGE_FUNDERS, Permission.APPROVE_FUNDERS, "资金方变更", "funder change"
    ),
    ApprovalKind.POLICY_PROMOTION: KindRule(
        Permission.PROMOTE_POLICIES, Permission.APPROVE_POLICIES, "策略上线", "policy promotion"
    ),
    ApprovalKind.MODEL_PROMOTION: KindRule(
        Permission.PROMOTE_POLICIES, Permission.APPROVE_POLICIES, "模型上线", "model promotion"
    ),
}


class SecondPersonRequired(Forbidden):
    """The maker of a request tried to approve it themselves."""

    code = "second_person_required"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """One action waiting for (or given) a second person's word.

    ``payload`` holds what the action needs (plain JSON values: ids, amounts in fen,
    a product definition); ``target`` names what it acts on (``loan:…``)."""

    request_id: str
    kind: ApprovalKind
    target: str
    payload: Mapping[str, Any]
    reason: str
    maker: str  # "staff:<id>"
    made_at: dt.datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    checker: str | None = None
    checked_at: dt.datetime | None = None
    check_note: str = ""
    result: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rule(self) -> KindRule:
        return KIND_RULES[self.kind]

    def approve(
        self, checker: str, roles: Iterable[str], at: dt.datetime, note: str = ""
    ) -> ApprovalRequest:
        self._check(checker, roles)
        return replace(
            self, status=ApprovalStatus.APPROVED, checker=checker, checked_at=at, check_note=note
        )

    def reject(
        self, checker: str, roles: Iterable[str], at: dt.datetime, note: str
    ) -> ApprovalRequest:
        self._check(checker, roles)
        _require_text("note", note)
        return replace(
            self, status=ApprovalStatus.REJECTED, checker=checker, checked_at=at, check_note=note
        )

    def cancel(self, by: str, at: dt.datetime) -> ApprovalRequest:
        self._require_pending()
        if by != self.maker:
            raise Forbidden("只有发起人可以撤回 (only the maker may withdraw a request)")
        return replace(self, status=ApprovalStatus.CANCELLED, checker=by, checked_at=at)

    def with_result(self, result: Mapping[str, Any]) -> ApprovalRequest:
        return replace(self, result=dict(result))

    def _check(self, checker: str, roles: Iterable[str]) -> None:
        self._require_pending()
        if checker == self.maker:
            raise SecondPersonRequired(
                "须由另一名员工复核 (a second person must check this request)"
            )
        require(roles, self.rule.checker)

    def _require_pending(self) -> None:
        if self.status is not ApprovalStatus.PENDING:
            raise Conflict(f"审批已处理 (request {self.request_id} is already {self.status})")


def _require_text(name: str, text: str) -> None:
    if not text.strip() or len(text) > 500:
        raise ValidationFailed([Problem(name, "请填写原因，500字以内 (a reason is required)")])


def new_request(
    *,
    request_id: str,
    kind: ApprovalKind,
    target: str,
    payload: Mapping[str, Any],
    reason: str,
    maker: str,
    maker_roles: Iterable[str],
    at: dt.datetime,
) -> ApprovalRequest:
    """A pending request, once the maker is allowed to ask for it and says why."""
    require(maker_roles, KIND_RULES[kind].maker)
    _require_text("reason", reason)
    return ApprovalRequest(request_id, kind, target, dict(payload), reason.strip(), maker, at)
