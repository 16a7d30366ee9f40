"""In-memory compliance stores over the in-memory lending stores, for use-case tests.

There is no onboarding here, so every account is an identity of its own
(``account:<borrower id>``) and the identity lock has nothing to wait for (one thread).
Bureau reporting runs on PostgreSQL only.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mobilend.adapters.memory.lending import LendingStore
from mobilend.app.compliance.ports import IdentityExposure, LoanPricing, OpenLoan
from mobilend.domain.compliance import BorrowerExposure
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money
from mobilend.domain.products_state import product_from_state

ACCOUNT = "account:"
OWED_STATUSES = ("active", "pending_disbursement")


@dataclass
class ComplianceStore:
    """Committed compliance state of one in-memory platform."""

    pricing: dict[str, LoanPricing] = field(default_factory=dict)


class _Exposures:
    def __init__(self, work: LendingStore) -> None:
        self._work = work

    def identity_of(self, borrower_id: str) -> str:
        return f"{ACCOUNT}{borrower_id}"

    def lock(self, identity: str) -> None:
        return None

    def lines_of(self, identity: str) -> list[CreditLine]:
        owner = identity.removeprefix(ACCOUNT)
        return [
            CreditLine.from_state(s) for s in self._work.lines.values() if s["borrower_id"] == owner
        ]

    def _owed(self, owner: str) -> list[Loan]:
        return [
            Loan.from_state(copy.deepcopy(s))
            for s in self._work.loans.values()
            if s["borrower_id"] == owner and s["status"] in OWED_STATUSES
        ]

    def outstanding_principal_of(self, identity: str) -> list[Money]:
        return [loan.outstanding_principal for loan in self._owed(identity.removeprefix(ACCOUNT))]


class _Pricing:
    def __init__(self, data: dict[str, LoanPricing]) -> None:
        self._data = data

    def add(self, pricing: LoanPricing) -> None:
        self._data[pricing.loan_id] = pricing

    def get(self, loan_id: str) -> LoanPricing | None:
        return self._data.get(loan_id)


class _Portfolio:
    def __init__(
        self, work: LendingStore, exposures: _Exposures, pricing: dict[str, LoanPricing]
    ) -> None:
        self._work = work
        self._exposures = exposures
        self._pricing = pricing

    def _licence(self, product_code: str) -> str:
        return product_from_state(dict(self._work.products[product_code])).licence_type

    def identities_above(self, on: dt.date, floor: Money) -> list[IdentityExposure]:
        owners = sorted(
            {s["borrower_id"] for s in self._work.lines.values()}
            | {s["borrower_id"] for s in self._work.loans.values()}
        )
        found = []
        for owner in owners:
            identity = self._exposures.identity_of(owner)
            lines = self._exposures.lines_of(identity)
            owed = self._exposures._owed(owner)
            exposure = BorrowerExposure.of(
                lines, [loan.outstanding_principal for loan in owed], on, floor.currency
            )
            if exposure.total <= floor:
                continue
            licences = {self._licence(line.product_code) for line in lines}
            licences |= {self._licence(loan.product_code) for loan in owed if loan.product_code}
            found.append(
                IdentityExposure(
                    identity,
                    (owner,),
                    exposure.outstanding_principal,
                    exposure.unused_limits,
                    frozenset(licences),
                )
            )
        return found

    def open_loans(self, after_id: str = "", limit: int = 500) -> list[OpenLoan]:
        found: list[OpenLoan] = []
        for loan_id in sorted(self._work.loans):
            state: dict[str, Any] = self._work.loans[loan_id]
            if loan_id <= after_id or state["status"] not in OWED_STATUSES:
                continue
            loan = Loan.from_state(copy.deepcopy(state))
            pricing = self._pricing.get(loan_id)
            found.append(
                OpenLoan(
                    loan_id,
                    loan.borrower_id,
                    loan.product_code or "",
                    self._licence(loan.product_code or ""),
                    loan.rules.penalty_rate,
                    loan.terms,
                    pricing.apr_for_cap if pricing is not None else None,
                )
            )
        return found[:limit]


class _NoBureau:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("bureau reporting runs on PostgreSQL only")


class InMemoryComplianceStores:
    def __init__(self, work: LendingStore, store: ComplianceStore) -> None:
        self.exposures = _Exposures(work)
        self.pricing = _Pricing(store.pricing)
        self.portfolio = _Portfolio(work, self.exposures, store.pricing)
        self.bureau: Any = _NoBureau()
