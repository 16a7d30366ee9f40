"""Fees a loan collects for someone else (an insurer, a guarantor): what part of the fees
recognised on a loan is owed to each third party.

The borrower owes every fee to the lender, who collects it; a fee whose ``payee`` is not
the lender is booked, when it is recognised, as payable to that payee
(``third_party_payable:<payee>``), never as the lender's fee income, and it is no part of
what funders share. An installment's recognised fees are split among its fees' payees
in proportion to their amounts (largest remainder, so the parts sum exactly), and a
loan's third-party fees are the sum over its installments: a pure function of the
installments, so the ledger can always be checked against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mobilend.domain.loans_installments import InstallmentKind, InstallmentState
from mobilend.domain.money import Money
from mobilend.domain.terms import FeeKind, LoanTerms

LENDER = "lender"


def _payee_weights(terms: LoanTerms, inst: InstallmentState) -> list[tuple[str, Money]]:
    kind = FeeKind.UPFRONT if inst.kind is InstallmentKind.UPFRONT_FEE else FeeKind.PER_INSTALLMENT
    return [(payee, amount) for payee, amount in terms.fee_charges(kind) if amount.is_positive()]


def has_third_party_fees(terms: LoanTerms) -> bool:
    return any(f.payee != LENDER for f in terms.fees)


def split_fees(terms: LoanTerms, inst: InstallmentState, charged: Money) -> dict[str, Money]:
    """The third parties' parts of ``charged`` fees of ``inst`` (the lender's left out)."""
    weights = _payee_weights(terms, inst)
    if not charged.is_positive() or not any(p != LENDER for p, _ in weights):
        return {}
    parts = charged.allocate([amount.amount for _, amount in weights])
    result: dict[str, Money] = {}
    for (payee, _), part in zip(weights, parts, strict=True):
        if payee != LENDER and part.is_positive():
            result[payee] = result[payee] + part if payee in result else part
    return result


def third_party_fees(
    terms: LoanTerms, installments: Iterable[InstallmentState]
) -> dict[str, Money]:
    """Recognised fees owed to third parties, by payee."""
    if not has_third_party_fees(terms):
        return {}
    total: dict[str, Money] = {}
    for inst in installments:
        for payee, part in split_fees(terms, inst, inst.charged).items():
            total[payee] = total[payee] + part if payee in total else part
    return total


def payable_change(before: Mapping[str, Money], after: Mapping[str, Money]) -> dict[str, Money]:
    """What became payable to each third party between two ``third_party_fees``."""
    change: dict[str, Money] = {}
    for payee in sorted(set(before) | set(after)):
        known = after[payee] if payee in after else before[payee]
        zero = Money.zero(known.currency)
        delta = after.get(payee, zero) - before.get(payee, zero)
        if not delta.is_zero():
            change[payee] = delta
    return change


def lenders_fees(terms: LoanTerms, fees: Money) -> Money:
    """The lender's part of ``fees`` collected on a loan (what funders may share): the
    rest is owed to third parties. Split by the per-installment fees' payees."""
    if not has_third_party_fees(terms) or not fees.is_positive():
        return fees
    weights = terms.fee_charges(FeeKind.PER_INSTALLMENT) or terms.fee_charges(FeeKind.UPFRONT)
    lender = sum((a.amount for p, a in weights if p == LENDER), Money.zero(fees.currency).amount)
    others = sum((a.amount for p, a in weights if p != LENDER), Money.zero(fees.currency).amount)
    if lender + others == 0:
        return fees
    return fees.allocate([lender, others])[0] if lender else Money.zero(fees.currency)
