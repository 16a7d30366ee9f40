"""What the platform's own maker-checker kinds do once a second person approves them:
write a loan off, refund money held for a borrower, change a product, change a funder.
(Manual approval of a referral is in ``referrals.py``; settlements and policy or model
promotion get their executors from the features that own them.)

``check`` runs when the request is made, ``execute`` inside the approving transaction,
so a request that became impossible meanwhile (the loan was repaid) is refused then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from mobilend.app.operations.approvals import ExecutionContext, Executor
from mobilend.app.operations.referrals import ManualApprovalExecutor
from mobilend.app.servicing.payments import refund_credit_in
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.approvals import ApprovalKind, ApprovalRequest
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.funders import Funder, WhitelistStatus
from mobilend.domain.lines import LineStatus
from mobilend.domain.loans import LoanStatus
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.products_state import product_from_state, product_to_state


def _loan_id(request: ApprovalRequest) -> str:
    loan_id = request.payload.get("loan_id")
    if not isinstance(loan_id, str) or not loan_id:
        raise ValidationFailed([Problem("loan_id", "is required")])
    return loan_id


class _NothingToUndo:
    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        return None


class WriteOffExecutor(_NothingToUndo):
    """Every recognised receivable to write-off expense; the loan's line is frozen."""

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        loan = uow.lending.loans.get(_loan_id(request))
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(f"只能核销未结清的贷款 (loan {loan.loan_id} is {loan.status.value})")

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        loan = uow.lending.loans.get(_loan_id(request), for_update=True)
        entry = loan.write_off(ctx.on, ctx.new_id)
        uow.lending.loans.save(loan)
        uow.lending.ledger.append([entry], loan.borrower_id)
        if loan.line_id is not None:
            line = uow.lending.lines.get(loan.line_id, for_update=True)
            if line.status is LineStatus.ACTIVE:
                line.freeze("written_off")
                uow.lending.lines.save(line)
        return {"entry_id": entry.entry_id, "amount_fen": entry.total_debits.round().to_minor()}


class RefundExecutor(_NothingToUndo):
    """Money held for the borrower back to their card (sent by the refunds job)."""

    @staticmethod
    def _amount(request: ApprovalRequest) -> Money | None:
        raw = request.payload.get("amount_fen")
        if raw is None:
            return None
        try:
            amount = Money.from_minor(int(raw), "CNY")
        except (TypeError, ValueError):
            amount = Money("0")
        if not amount.is_positive():
            raise ValidationFailed([Problem("amount_fen", "must be a positive amount in fen")])
        return amount

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        loan = uow.lending.loans.get(_loan_id(request))
        amount = self._amount(request)
        held = loan.held_credit
        if not held.is_positive() or (amount is not None and amount > held):
            raise Conflict(f"可退金额不足 (loan {loan.loan_id} holds {held.format()})")

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        record = refund_credit_in(
            uow,
            ctx.new_id,
            _loan_id(request),
            on=ctx.on,
            cash_account=ctx.refund_cash_account,
            amount=self._amount(request),
        )
        return {"refund_id": record.refund_id, "amount_fen": record.amount.round().to_minor()}


def proposed_product(request: ApprovalRequest) -> LoanProduct:
    definition = request.payload.get("definition")
    if not isinstance(definition, Mapping):
        raise ValidationFailed([Problem("definition", "a product definition is required")])
    return product_from_state(dict(definition))


class ProductChangeExecutor(_NothingToUndo):
    """A product's new definition; loans already drawn keep their frozen terms."""

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        product = proposed_product(request)
        uow.lending.products.get(product.code)  # NotFound: changes only, no creation here
        ctx.cost_caps.check_product(product, ctx.on)

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        product = proposed_product(request)
        before = product_to_state(uow.lending.products.get(product.code))
        ctx.cost_caps.check_product(product, ctx.on)
        uow.lending.products.save(product)
        after = product_to_state(product)
        changed = sorted(k for k in after if before.get(k) != after.get(k))
        return {"product": product.code, "changed": changed}


#: Funder fields a change may set, and how each is read from the request.
_MONEY_FIELDS = ("daily_quota", "total_quota", "max_balance")


def changed_funder(funder: Funder, changes: Mapping[str, Any]) -> Funder:
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, raw in changes.items():
        try:
            if name in _MONEY_FIELDS:
                values[name] = None if raw is None else Money.from_minor(int(raw), funder.currency)
            elif name in ("cost_of_funds", "interest_share"):
                values[name] = Decimal(str(raw))
            elif name == "whitelist_status":
                values[name] = WhitelistStatus(str(raw))
            elif name == "priority":
                values[name] = int(raw)
            else:
                problems.append(Problem(name, "this field cannot be changed here"))
        except (ValueError, TypeError, InvalidOperation):
            problems.append(Problem(name, "invalid value"))
    if problems:
        raise ValidationFailed(problems)
    return dataclasses.replace(funder, **values)


class FunderChangeExecutor(_NothingToUndo):
    """Quotas, concentration limit, cost of funds, interest share, whitelist, priority."""

    @staticmethod
    def _target(uow: UnitOfWork, request: ApprovalRequest) -> tuple[Funder, Funder]:
        code = request.payload.get("code")
        changes = request.payload.get("changes")
        if not isinstance(code, str) or not isinstance(changes, Mapping) or not changes:
            raise ValidationFailed([Problem("changes", "a funder code and changes are required")])
        funder = uow.funding.funders.get(code)
        return funder, changed_funder(funder, changes)

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        self._target(uow, request)

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        _before, after = self._target(uow, request)
        uow.funding.funders.save(after)
        return {"funder": after.code, "changed": sorted(request.payload["changes"])}


def platform_executors() -> dict[ApprovalKind, Executor]:
    return {
        ApprovalKind.WRITE_OFF: WriteOffExecutor(),
        ApprovalKind.REFUND: RefundExecutor(),
        ApprovalKind.PRODUCT_CHANGE: ProductChangeExecutor(),
        ApprovalKind.FUNDER_CHANGE: FunderChangeExecutor(),
        ApprovalKind.MANUAL_APPROVAL: ManualApprovalExecutor(),
    }
