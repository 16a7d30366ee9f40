"""A loan as plain values (for storage) and as ledger balances (for checking the ledger)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from mobilend.domain.ledger import DEFAULT_CASH_ACCOUNT, Account, ComponentAmounts
from mobilend.domain.loans_fees import third_party_fees
from mobilend.domain.loans_installments import InstallmentState
from mobilend.domain.loans_rules import LoanStatus, ServicingRules
from mobilend.domain.loans_terms import terms_from_state, terms_to_state
from mobilend.domain.money import Money, total

if TYPE_CHECKING:
    from mobilend.domain.loans import Loan


def loan_ledger_balances(loan: Loan) -> dict[Account, Money]:
    """What the ledger must hold for ``loan``, per chart account (debit +, credit −)."""
    if loan.status is LoanStatus.CANCELLED:
        return {}  # the cancellation entry took every balance back out
    currency = loan.currency
    zero = Money.zero(currency)
    recv = loan.receivables
    wo = loan.written_off or ComponentAmounts.zero(currency)
    accrued = total((i.accrued for i in loan.installments), currency)
    charged = total((i.charged for i in loan.installments), currency)
    others = total(third_party_fees(loan.terms, loan.installments).values(), currency)
    penalty = total((i.penalty for i in loan.installments), currency)
    assert loan.cash_received is not None and loan.cash_refunded is not None
    assert loan.recovered is not None
    disbursed = loan.principal if loan.disbursed_on is not None else zero
    values = {
        Account.CASH: loan.cash_received - disbursed - loan.cash_refunded + loan.recovered,
        Account.LOAN_PRINCIPAL_RECEIVABLE: recv.principal - wo.principal
        if loan.disbursed_on
        else zero,
        Account.INTEREST_RECEIVABLE: recv.interest - wo.interest,
        Account.FEE_RECEIVABLE: recv.fees - wo.fees,
        Account.PENALTY_RECEIVABLE: recv.penalty - wo.penalty,
        Account.INTEREST_INCOME: -accrued,
        Account.FEE_INCOME: -(charged - others),
        Account.THIRD_PARTY_PAYABLE: -others,
        Account.PENALTY_INCOME: -penalty,
        Account.BORROWER_CREDIT_BALANCE: -loan.held_credit,
        Account.WRITE_OFF_EXPENSE: wo.total,
        Account.RECOVERY_INCOME: -loan.recovered,
    }
    return {k: v for k, v in values.items() if not v.is_zero()}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def loan_to_state(loan: Loan) -> dict[str, Any]:
    """Plain values: amounts as ints in fen, dates as ISO strings, enums as their values.

    ``outstanding_principal_minor`` and each installment's ``status`` (as of
    ``accrued_through``) are derived, stored for querying, and ignored on load.
    """
    assert loan.cash_received is not None and loan.cash_refunded is not None
    assert loan.recovered is not None
    wo = loan.written_off
    as_of = loan.accrued_through or loan.terms.start_date
    return {
        "loan_id": loan.loan_id,
        "borrower_id": loan.borrower_id,
        "currency": loan.currency,
        "status": loan.status.value,
        "line_id": loan.line_id,
        "product_code": loan.product_code,
        "funding_account": loan.funding_account,
        "principal_minor": loan.principal.to_minor(),
        "terms": terms_to_state(loan.terms),
        "rules": loan.rules.to_state(),
        "disbursed_on": _iso(loan.disbursed_on),
        "accrued_through": _iso(loan.accrued_through),
        "dpd": loan.dpd,
        "max_dpd": loan.max_dpd,
        "credit_balance_minor": loan.held_credit.to_minor(),
        "cash_received_minor": loan.cash_received.to_minor(),
        "cash_refunded_minor": loan.cash_refunded.to_minor(),
        "recovered_minor": loan.recovered.to_minor(),
        "written_off": None
        if wo is None
        else {
            "principal_minor": wo.principal.to_minor(),
            "interest_minor": wo.interest.to_minor(),
            "fees_minor": wo.fees.to_minor(),
            "penalty_minor": wo.penalty.to_minor(),
        },
        "closed_on": _iso(loan.closed_on),
        "entry_seq": loan.entry_seq,
        "outstanding_principal_minor": loan.outstanding_principal.to_minor(),
        "installments": [
            {**i.to_state(), "status": i.status_on(as_of).value} for i in loan.installments
        ],
    }


def loan_fields_from_state(state: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of ``Loan`` from what ``loan_to_state`` produced."""
    currency = str(state["currency"])

    def m(key: str, source: dict[str, Any] = state) -> Money:
        return Money.from_minor(int(source[key]), currency)

    wo_state = state.get("written_off")
    line_id = state.get("line_id")
    return {
        "loan_id": str(state["loan_id"]),
        "borrower_id": str(state["borrower_id"]),
        "terms": terms_from_state(dict(state["terms"])),
        "installments": [
            InstallmentState.from_state(dict(i), currency) for i in state["installments"]
        ],
        "rules": ServicingRules.from_state(dict(state["rules"])),
        "status": LoanStatus(str(state["status"])),
        "line_id": str(line_id) if line_id is not None else None,
        "product_code": str(state.get("product_code", "")),
        "funding_account": str(state.get("funding_account", DEFAULT_CASH_ACCOUNT)),
        "disbursed_on": _date(state.get("disbursed_on")),
        "accrued_through": _date(state.get("accrued_through")),
        "dpd": int(state.get("dpd", 0)),
        "max_dpd": int(state.get("max_dpd", 0)),
        "credit_balance": m("credit_balance_minor"),
        "cash_received": m("cash_received_minor"),
        "cash_refunded": m("cash_refunded_minor"),
        "recovered": m("recovered_minor"),
        "written_off": None
        if not wo_state
        else ComponentAmounts(
            m("principal_minor", wo_state),
            m("interest_minor", wo_state),
            m("fees_minor", wo_state),
            m("penalty_minor", wo_state),
        ),
        "closed_on": _date(state.get("closed_on")),
        "entry_seq": int(state.get("entry_seq", 0)),
    }
