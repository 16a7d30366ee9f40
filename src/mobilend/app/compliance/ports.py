"""Storage of compliance: borrowers' exposure by identity, the price each loan was made at,
the portfolio as a compliance report reads it, and credit-bureau submissions.

A borrower's *identity* is one person, whatever accounts they hold: the keyed blind
index of the national ID their accounts were verified with (onboarding stores it).
An account without a verified national ID is an identity of its own. The per-borrower
cap is checked on the identity, and two line openings or draws for one identity are
serialised by ``ExposureStore.lock`` inside the unit of work.

They are the ``compliance`` store group of the platform unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.terms import LoanTerms

# --------------------------------------------------------------------------- exposure


class ExposureStore(Protocol):
    def identity_of(self, borrower_id: str) -> str:
        """The identity key of the borrower's account (``nid:<blind index>``, or
        ``account:<borrower id>`` for an account with no verified national ID)."""
        ...

    def lock(self, identity: str) -> None:
        """Hold the identity until the unit of work ends (commit or rollback): a second
        line opening or draw for the same person waits here."""
        ...

    def lines_of(self, identity: str) -> list[CreditLine]:
        """Every credit line of every account of the identity (any status)."""
        ...

    def outstanding_principal_of(self, identity: str) -> list[Money]:
        """The outstanding principal of every loan of the identity still owed (active or
        awaiting its payout), whatever line it was drawn on (expired ones included)."""
        ...


# --------------------------------------------------------------------------- loan prices


@dataclass(frozen=True, slots=True)
class LoanPricing:
    """What a loan was priced at when it was drawn, and under which rules: end of day
    caps its penalty from this, a compliance report checks it against later rules."""

    loan_id: str
    licence_type: str
    apr: Decimal  # the disclosed APR (IRR)
    apr_for_cap: Decimal  # the higher of the disclosed and the actual-day APR
    annual_rate: Decimal
    requested_rate: Decimal  # before any lowering to fit the cap
    penalty_rate: Decimal  # the contract's, already within the cap when drawn
    rulebook_version: str
    priced_on: dt.date


class LoanPricingStore(Protocol):
    def add(self, pricing: LoanPricing) -> None: ...

    def get(self, loan_id: str) -> LoanPricing | None: ...


# --------------------------------------------------------------------------- report


@dataclass(frozen=True, slots=True)
class IdentityExposure:
    """One person's figures on a date, as a compliance report reads them."""

    identity: str
    borrower_ids: tuple[str, ...]
    outstanding_principal: Money
    unused_limits: Money
    licence_types: frozenset[str]  # of the products of their lines and loans

    @property
    def total(self) -> Money:
        return self.outstanding_principal + self.unused_limits


@dataclass(frozen=True, slots=True)
class OpenLoan:
    """An active loan for the report: enough to check it without loading the aggregate."""

    loan_id: str
    borrower_id: str
    product_code: str
    licence_type: str
    penalty_rate: Decimal  # the contract's
    terms: LoanTerms
    apr_for_cap: Decimal | None  # as priced at the draw (None: drawn before prices were kept)


class CompliancePortfolio(Protocol):
    def identities_above(self, on: dt.date, floor: Money) -> list[IdentityExposure]:
        """Identities whose outstanding principal plus usable unused limits on ``on``
        are above ``floor`` (a line counts while active or frozen and not expired)."""
        ...

    def open_loans(self, after_id: str = "", limit: int = 500) -> list[OpenLoan]:
        """Active loans (and those awaiting their payout), in id order."""
        ...


class ComplianceStores(Protocol):
    """Compliance's store group of the platform unit of work."""

    @property
    def exposures(self) -> ExposureStore: ...

    @property
    def pricing(self) -> LoanPricingStore: ...

    @property
    def portfolio(self) -> CompliancePortfolio: ...

    @property
    def bureau(self) -> BureauStore: ...


# --------------------------------------------------------------------------- bureau


@dataclass(frozen=True, slots=True)
class LoanMonthFacts:
    """One loan as it stood at the end of a month, rebuilt from the ledger (by business
    date) and the installments (by due and settlement dates), so a past month can be
    rebuilt later and compared with what was reported."""

    loan_id: str
    borrower_id: str
    product_code: str
    currency: str
    principal: Money
    periods: int
    frequency: str
    method: str
    opened_on: dt.date
    final_due_on: dt.date
    status: str  # the loan's status now: active, closed, written_off, cancelled…
    closed_on: dt.date | None
    principal_balance: Money  # loan principal receivable at month end
    charges_balance: Money  # interest, fee and penalty receivable at month end
    due_to_date: Money  # scheduled principal, interest and fees due before month end
    paid_to_date: Money  # repayments applied to the loan by month end, net of reversals
    oldest_unpaid_due_on: dt.date | None  # earliest installment due before month end, unsettled
    installments_unpaid: int  # installments due before month end and unsettled at month end
    last_payment_on: dt.date | None
    last_payment: Money | None


@dataclass(frozen=True, slots=True)
class ReportedLoan:
    """One loan's record as last sent to the bureau for a month."""

    month: str  # YYYY-MM
    loan_id: str
    borrower_id: str
    fields: tuple[tuple[str, str], ...]  # the record's fields, in layout order
    submission_id: str = ""


@dataclass(frozen=True, slots=True)
class BureauSubmission:
    submission_id: str
    month: str
    created_at: dt.datetime
    regular_records: int
    corrections: int
    deletions: int
    sha256: str


class BureauStore(Protocol):
    def loan_facts(self, month_start: dt.date, month_end: dt.date) -> list[LoanMonthFacts]:
        """Loans disbursed by ``month_end`` that were not closed before ``month_start``
        (cancelled loans, never paid out, are left out), in id order."""
        ...

    def reported(self, month: str) -> dict[str, ReportedLoan]:
        """The last record sent for each loan of ``month`` (deleted ones left out)."""
        ...

    def reported_months(self, before: str) -> list[str]:
        """Months already submitted that come before ``before``, oldest first."""
        ...

    def record(
        self,
        submission: BureauSubmission,
        sent: Sequence[ReportedLoan],
        deleted: Sequence[tuple[str, str]],
    ) -> None:
        """Store a submission: the records it sent (replacing what was last sent for the
        same month and loan) and the (month, loan) records it deleted."""
        ...
