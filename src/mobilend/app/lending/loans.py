"""Use cases: drawdown offers and draws (用信) against a credit line.

An offer is priced within the cost cap in force (``Rulebook.fit_offer``); a draw is
refused when the person's principal balance over every account would pass the
per-borrower cap (``app.compliance.exposure.check_draw_in``), and the price the loan
was made at is recorded with the rulebook's version (``loan_pricing``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from mobilend.app.compliance.exposure import check_draw_in
from mobilend.app.compliance.pricing import record_pricing_in
from mobilend.app.funding.disbursement import accept_offer
from mobilend.app.unit_of_work import UnitOfWork, command
from mobilend.domain.apr import AprResult
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.funding import RAIL_IN_TRANSIT, Tranche
from mobilend.domain.ledger import JournalEntry
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.schedules import Schedule


@dataclass(frozen=True, slots=True)
class LoanOffer:
    """What the borrower sees before signing: every installment and the APR."""

    line_id: str
    product: LoanProduct
    schedule: Schedule
    apr: AprResult
    annual_rate: Decimal
    #: The product's penalty rate, lowered so interest + penalty stay within the cap.
    penalty_rate: Decimal | None = None
    #: The rate asked for (the line's), before any lowering to fit the cap.
    requested_rate: Decimal | None = None

    @property
    def servicing_rules(self) -> ServicingRules:
        rules = ServicingRules.from_product(self.product)
        if self.penalty_rate is None:
            return rules
        return replace(rules, penalty_rate=self.penalty_rate)


@dataclass(frozen=True, slots=True)
class DrawResult:
    loan: Loan
    offer: LoanOffer
    entries: tuple[JournalEntry, ...]
    #: The payout's stage: ``queued``, or ``awaiting_approval`` while partner funders decide.
    payout_status: str = ""
    #: Who funds the loan: one tranche per funder.
    tranches: tuple[Tranche, ...] = ()


def _offer(
    uow: UnitOfWork,
    cost_caps: CostCapPolicy,
    line: CreditLine,
    amount: Money,
    periods: int,
    on: dt.date,
    first_due: dt.date | None,
    annual_rate: Decimal | None,
) -> LoanOffer:
    product = uow.lending.products.get(line.product_code)
    if amount > line.available:
        raise ValidationFailed(
            [Problem("amount", f"exceeds the available line of {line.available.format()}")]
        )
    # Priced within the cap in force: a rate whose APR would break it is lowered.
    priced = cost_caps.fit_offer(product, amount, periods, on, first_due, annual_rate)
    check_draw_in(
        uow, cost_caps, borrower_id=line.borrower_id, amount=amount,
        licence_type=product.licence_type, on=on,
    )  # fmt: skip
    return LoanOffer(
        line.line_id, product, priced.schedule, priced.apr, priced.annual_rate,
        priced.penalty_rate, priced.requested_rate,
    )  # fmt: skip


def quote_draw_in(
    uow: UnitOfWork,
    cost_caps: CostCapPolicy,
    *,
    line_id: str,
    amount: Money,
    periods: int,
    on: dt.date,
    first_due: dt.date | None = None,
    annual_rate: Decimal | None = None,
) -> LoanOffer:
    """A live offer: schedule, totals and APR; refuses anything above the cost cap."""
    line = uow.lending.lines.get(line_id)
    # The same checks a real draw makes (frozen, expired, limit), on a copy: the offer
    # is priced against the line as it stands.
    CreditLine.from_state(line.to_state()).draw(amount, on)
    return _offer(uow, cost_caps, line, amount, periods, on, first_due, annual_rate)


def draw_loan_in(
    uow: UnitOfWork,
    cost_caps: CostCapPolicy,
    new_id: Callable[[], str],
    *,
    line_id: str,
    amount: Money,
    periods: int,
    on: dt.date,
    first_due: dt.date | None = None,
    annual_rate: Decimal | None = None,
    borrower_id: str | None = None,
    score: int | None = None,
    score_band: str = "",
    region_code: str = "",
    queued_at: dt.datetime | None = None,
) -> DrawResult:
    """Draw on a line: the loan, its schedule and its disbursement entries in one commit.

    The amount paid out equals the contract principal; upfront fees are a
    separate receivable, never deducted from the payout.

    The loan is routed to its funders (``score``, ``score_band`` and ``region_code``
    inform the funders' rules), booked against the rail's in-transit account, and its
    payout queued in the outbox (due at ``queued_at``, the caller's now) — in the same
    unit of work (``app.funding.disbursement.accept_offer``). Nothing is booked as paid
    until the rail says so.
    """
    line = uow.lending.lines.get(line_id, for_update=True)
    if borrower_id is not None and line.borrower_id != borrower_id:
        raise NotFound(f"credit line {line_id} not found")
    offer = _offer(uow, cost_caps, line, amount, periods, on, first_due, annual_rate)
    line.draw(amount, on)
    uow.lending.lines.save(line)
    loan = Loan.create(
        new_id(), line.borrower_id, offer.schedule, offer.servicing_rules,
        product_code=offer.product.code, line_id=line.line_id, funding_account=RAIL_IN_TRANSIT,
    )  # fmt: skip
    accepted = accept_offer(
        uow, new_id, loan, score=score, score_band=score_band,
        region_code=region_code, queued_at=queued_at, rules=cost_caps,
    )  # fmt: skip
    record_pricing_in(
        uow, cost_caps, loan, licence_type=offer.product.licence_type, apr=offer.apr.apr,
        apr_for_cap=offer.apr.apr_for_cap, requested_rate=offer.requested_rate or offer.annual_rate,
        on=on,
    )  # fmt: skip
    return DrawResult(loan, offer, accepted.entries, accepted.payout.status, accepted.tranches)


quote_draw = command(quote_draw_in)
draw_loan = command(draw_loan_in)
