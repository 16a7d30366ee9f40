"""Ports of portfolio analytics: the summaries a refresh rebuilds after end of day and
the queries that read them (``adapters/db/analytics_refresh.py`` and
``analytics_queries.py``). Rows are small: a few per day, cohort, bucket or funder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class RefreshState:
    as_of: dt.date
    refreshed_at: dt.datetime
    seconds: Decimal


@dataclass(frozen=True, slots=True)
class FunnelDay:
    day: dt.date
    registered: int
    kyc_passed: int
    applied: int
    approved: int
    declined: int
    referred: int
    contracts_signed: int
    loans_disbursed: int
    disbursed: Money
    score_sum: int
    scored: int
    data_cost: Money


@dataclass(frozen=True, slots=True)
class VintageCell:
    cohort: dt.date  # first day of the month of disbursement
    mob: int  # months on book
    loans: int  # loans of the cohort observed for mob months
    principal: Money
    bad_loans: int  # of those, ever 30+ days past due (or written off) by then
    bad_principal: Money


@dataclass(frozen=True, slots=True)
class RollCell:
    period_end: dt.date
    from_state: str
    to_state: str
    loans: int


@dataclass(frozen=True, slots=True)
class RecoveryRow:
    period_end: dt.date
    bucket: str
    loans: int
    cured: int
    collected: Money


@dataclass(frozen=True, slots=True)
class BookCell:
    product_code: str
    funder_code: str
    bucket: str
    loans: int
    outstanding: Money
    receivable: Money  # interest, fees and penalty recognised and unpaid


@dataclass(frozen=True, slots=True)
class ScoreCount:
    month: dt.date
    score: int
    applications: int


@dataclass(frozen=True, slots=True)
class ScorePerformance:
    score: int
    good: int
    bad: int


@dataclass(frozen=True, slots=True)
class LedgerDay:
    business_date: dt.date
    account: str  # the account's root: interest_income, write_off_expense, …
    amount: Money  # sum of postings, debit positive


@dataclass(frozen=True, slots=True)
class FunderCostDay:
    day: dt.date
    funder_code: str
    outstanding: Money
    cost_minor: Decimal  # cost of funds for the day, in fen, unrounded


@dataclass(frozen=True, slots=True)
class FunderUse:
    code: str
    name: str
    kind: str
    whitelist_status: str
    cost_of_funds: Decimal
    outstanding: Money
    routed_total: Money
    routed_today: Money
    daily_quota: Money | None
    total_quota: Money | None
    max_balance: Money | None


class AnalyticsQueries(Protocol):
    def state(self) -> RefreshState | None: ...

    def funnel(self, first: dt.date, last: dt.date) -> list[FunnelDay]: ...

    def vintage(self) -> list[VintageCell]: ...

    def roll_rates(self) -> list[RollCell]: ...

    def recovery(self) -> list[RecoveryRow]: ...

    def book(self) -> list[BookCell]: ...

    def score_months(self) -> list[ScoreCount]: ...

    def score_performance(self) -> list[ScorePerformance]: ...

    def ledger(self, first: dt.date, last: dt.date) -> list[LedgerDay]: ...

    def funder_costs(self, first: dt.date, last: dt.date) -> list[FunderCostDay]: ...

    def funder_use(self, today: dt.date) -> list[FunderUse]: ...


class AnalyticsRefresher(Protocol):
    def refresh(self, as_of: dt.date, *, full: bool = False) -> RefreshState:
        """Rebuild the summaries as of the end of business date ``as_of``."""
        ...


@dataclass(frozen=True, slots=True)
class ScoreBaseline:
    """The training sample's score distribution (the model's PSI bins): bin i is
    [edges[i-1], edges[i]), both ends open."""

    model_version: str
    edges: tuple[float, ...]
    expected: tuple[float, ...]
