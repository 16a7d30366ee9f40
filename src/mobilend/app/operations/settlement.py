"""The maker-checker executor of a settlement asked for in the console: once a second
person approves, the collections case gets an approved settlement offer (a discounted
payoff), exactly as a collections manager's approval of a proposal gives it; the
borrower's payment then settles the loan through ``collections.resolutions.pay_settlement``.

The request names a loan (its open collection case is found) and the amount in fen; the
amount is held to the collections settlement policy (at most the discount it allows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mobilend.app.collections.ports import CaseRecord, ResolutionRecord
from mobilend.app.collections.resolutions import SETTLEMENT
from mobilend.app.operations.approvals import ExecutionContext
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.approvals import ApprovalRequest
from mobilend.domain.collections import ApprovalStatus, ResolutionPolicy, validate_settlement
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.loans import Loan, LoanStatus
from mobilend.domain.money import Money


def settlement_payload(loan_id: str, amount_fen: int) -> dict[str, Any]:
    return {"loan_id": loan_id, "amount_fen": amount_fen}


class SettlementExecutor:
    """Approving the request records an approved settlement offer on the loan's case."""

    def __init__(self, policy: ResolutionPolicy | None = None) -> None:
        self.policy = policy or ResolutionPolicy()

    @staticmethod
    def _amount(request: ApprovalRequest) -> Money:
        try:
            return Money.from_minor(int(request.payload.get("amount_fen", "")), "CNY")
        except (TypeError, ValueError):
            raise ValidationFailed([Problem("amount", "请输入金额 (enter an amount)")]) from None

    def _case_and_loan(
        self, uow: UnitOfWork, request: ApprovalRequest, *, for_update: bool
    ) -> tuple[CaseRecord, Loan, Money]:
        loan_id = request.payload.get("loan_id")
        if not isinstance(loan_id, str) or not loan_id:
            raise ValidationFailed([Problem("loan_id", "is required")])
        case = uow.collections.cases.open_for_loan(loan_id, for_update=for_update)
        if case is None:
            raise Conflict(f"该贷款没有在催案件 (loan {loan_id} has no open collection case)")
        loan = uow.lending.loans.get(loan_id, for_update=for_update)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(f"只有未结清的贷款可以和解 (loan {loan_id} is {loan.status.value})")
        owed = loan.receivables.total - loan.held_credit
        validate_settlement(self._amount(request), owed, self.policy)
        for earlier in uow.collections.resolutions.for_case(case.case_id):
            if earlier.kind == SETTLEMENT and earlier.status in (
                ApprovalStatus.PROPOSED,
                ApprovalStatus.APPROVED,
            ):
                raise Conflict(
                    f"该案件已有和解方案 (case {case.case_id} already has a settlement "
                    f"{earlier.status.value})"
                )
        return case, loan, owed

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        self._case_and_loan(uow, request, for_update=False)

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        case, loan, owed = self._case_and_loan(uow, request, for_update=True)
        amount = self._amount(request)
        valid_until = ctx.on + dt.timedelta(days=self.policy.settlement_valid_days)
        record = ResolutionRecord(
            resolution_id=ctx.new_id(),
            kind=SETTLEMENT,
            case_id=case.case_id,
            loan_id=loan.loan_id,
            proposed_by=request.maker,
            proposed_on=request.made_at.date(),
            owed=owed,
            amount=amount,
            status=ApprovalStatus.APPROVED,
            valid_until=valid_until,
            approved_by=request.checker or "",
            decided_on=ctx.on,
            reason=request.reason,
        )
        uow.collections.resolutions.add(record)
        return {
            "resolution_id": record.resolution_id,
            "case_id": case.case_id,
            "amount_fen": amount.round().to_minor(),
            "owed_fen": owed.round().to_minor(),
            "valid_until": valid_until.isoformat(),
        }

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        return None
