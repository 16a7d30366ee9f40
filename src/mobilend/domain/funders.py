"""Funders: the registry entry of each source of money, and the rules a funder must meet
to fund (a tranche of) a loan.

A *funder* is the platform's own capital pool or a licensed partner institution (bank,
consumer-finance company, micro-lender). Only a funder that is whitelisted on the day,
holds a licence, serves the borrower's region and the product, accepts the borrower's
score and the amount, and still has quota and room under its concentration limit can
fund a loan (``funder_problems`` lists every reason it cannot).

Pure rules: positions and dates come in as arguments.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.ledger import DEFAULT_CASH_ACCOUNT, Account, account_key
from mobilend.domain.money import DEFAULT_CURRENCY, Money

#: Code of the platform's own capital pool.
OWN_POOL = "own_pool"

CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ONE = Decimal(1)


class FunderKind(enum.StrEnum):
    OWN_POOL = "own_pool"
    BANK = "bank"
    CONSUMER_FINANCE = "consumer_finance"
    MICRO_LENDER = "micro_lender"


class WhitelistStatus(enum.StrEnum):
    PENDING = "pending"
    WHITELISTED = "whitelisted"
    SUSPENDED = "suspended"
    REMOVED = "removed"


def _problem(name: str, text: str) -> Problem:
    return Problem(name, text)


def _fraction(value: Decimal, name: str, problems: list[Problem]) -> None:
    if not Decimal(0) <= value <= _ONE:
        problems.append(_problem(name, "must be a fraction between 0 and 1"))


@dataclass(frozen=True, slots=True)
class Funder:
    """One entry of the funder registry."""

    code: str
    name: str
    kind: FunderKind
    licence_no: str
    whitelist_status: WhitelistStatus
    whitelisted_from: dt.date | None
    whitelisted_until: dt.date | None = None
    regions: frozenset[str] = frozenset()  # empty: every region
    products: frozenset[str] = frozenset()  # empty: every product
    min_score: int | None = None
    min_amount: Money = field(default_factory=lambda: Money("1.00"))
    max_amount: Money = field(default_factory=lambda: Money("1000000.00"))
    daily_quota: Money | None = None
    total_quota: Money | None = None
    max_balance: Money | None = None  # concentration limit on its outstanding balance
    cost_of_funds: Decimal = Decimal(0)  # annual rate the funder charges for its money
    interest_share: Decimal = _ONE  # its share of interest, fees, penalty on its tranche
    requires_approval: bool = False  # the partner decides each loan itself
    priority: int = 100  # lower goes first

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FunderKind(self.kind))
        object.__setattr__(self, "whitelist_status", WhitelistStatus(self.whitelist_status))
        object.__setattr__(self, "regions", frozenset(self.regions))
        object.__setattr__(self, "products", frozenset(self.products))
        object.__setattr__(self, "cost_of_funds", Decimal(self.cost_of_funds))
        object.__setattr__(self, "interest_share", Decimal(self.interest_share))
        problems: list[Problem] = []
        if not CODE_PATTERN.fullmatch(self.code):
            problems.append(_problem("code", "lower-case letters, digits, _ or -, 1-40 long"))
        if not self.name.strip():
            problems.append(_problem("name", "is required"))
        if self.min_amount.currency != self.max_amount.currency:
            problems.append(_problem("max_amount", "currency differs from min_amount"))
        elif not self.min_amount.is_positive() or self.max_amount < self.min_amount:
            problems.append(_problem("max_amount", "amount range must be positive and ordered"))
        for name in ("daily_quota", "total_quota", "max_balance"):
            limit = getattr(self, name)
            if limit is not None and (limit.is_negative() or limit.currency != self.currency):
                problems.append(_problem(name, "must be zero or more, in the funder's currency"))
        if self.cost_of_funds < 0 or self.cost_of_funds > 1:
            problems.append(_problem("cost_of_funds", "must be an annual rate between 0 and 1"))
        _fraction(self.interest_share, "interest_share", problems)
        if (
            self.whitelisted_from is not None
            and self.whitelisted_until is not None
            and self.whitelisted_until < self.whitelisted_from
        ):
            problems.append(_problem("whitelisted_until", "is before whitelisted_from"))
        if problems:
            raise ValidationFailed(problems)

    @property
    def currency(self) -> str:
        return self.min_amount.currency

    @property
    def cash_account(self) -> str:
        """Where this funder's money sits: the own pool, or the funder's funding account."""
        if self.kind is FunderKind.OWN_POOL:
            return DEFAULT_CASH_ACCOUNT
        return account_key(Account.CASH, "funder", self.code)

    def whitelist_problem(self, on: dt.date) -> str:
        """'' when whitelisted on ``on``; otherwise why not."""
        if self.whitelist_status is not WhitelistStatus.WHITELISTED:
            return f"whitelist_{self.whitelist_status.value}"
        if self.whitelisted_from is None or on < self.whitelisted_from:
            return "whitelist_not_yet_effective"
        if self.whitelisted_until is not None and on > self.whitelisted_until:
            return "whitelist_expired"
        return ""

    def to_state(self) -> dict[str, Any]:
        def minor(m: Money | None) -> int | None:
            return None if m is None else m.to_minor()

        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "licence_no": self.licence_no,
            "whitelist_status": self.whitelist_status.value,
            "whitelisted_from": _iso(self.whitelisted_from),
            "whitelisted_until": _iso(self.whitelisted_until),
            "regions": sorted(self.regions),
            "products": sorted(self.products),
            "min_score": self.min_score,
            "currency": self.currency,
            "min_amount_minor": self.min_amount.to_minor(),
            "max_amount_minor": self.max_amount.to_minor(),
            "daily_quota_minor": minor(self.daily_quota),
            "total_quota_minor": minor(self.total_quota),
            "max_balance_minor": minor(self.max_balance),
            "cost_of_funds": str(self.cost_of_funds),
            "interest_share": str(self.interest_share),
            "requires_approval": self.requires_approval,
            "priority": self.priority,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Funder:
        currency = str(state.get("currency", DEFAULT_CURRENCY))

        def money(key: str) -> Money | None:
            value = state.get(key)
            return None if value is None else Money.from_minor(int(value), currency)

        min_amount = money("min_amount_minor")
        max_amount = money("max_amount_minor")
        assert min_amount is not None and max_amount is not None
        return cls(
            code=str(state["code"]),
            name=str(state["name"]),
            kind=FunderKind(str(state["kind"])),
            licence_no=str(state.get("licence_no", "")),
            whitelist_status=WhitelistStatus(str(state["whitelist_status"])),
            whitelisted_from=_date(state.get("whitelisted_from")),
            whitelisted_until=_date(state.get("whitelisted_until")),
            regions=frozenset(state.get("regions", ())),
            products=frozenset(state.get("products", ())),
            min_score=None if state.get("min_score") is None else int(state["min_score"]),
            min_amount=min_amount,
            max_amount=max_amount,
            daily_quota=money("daily_quota_minor"),
            total_quota=money("total_quota_minor"),
            max_balance=money("max_balance_minor"),
            cost_of_funds=Decimal(str(state.get("cost_of_funds", "0"))),
            interest_share=Decimal(str(state.get("interest_share", "1"))),
            requires_approval=bool(state.get("requires_approval", False)),
            priority=int(state.get("priority", 100)),
        )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def default_own_pool(currency: str = DEFAULT_CURRENCY) -> Funder:
    """The platform's own capital when the registry says nothing else about it:
    always whitelisted (the platform's own licence), no quota, tried last."""
    return Funder(
        code=OWN_POOL,
        name="平台自有资金 / own capital pool",
        kind=FunderKind.OWN_POOL,
        licence_no="platform",
        whitelist_status=WhitelistStatus.WHITELISTED,
        whitelisted_from=dt.date.min,
        min_amount=Money.from_minor(1, currency),
        max_amount=Money.from_minor(10**14, currency),
        priority=1000,
    )


@dataclass(frozen=True, slots=True)
class FunderPosition:
    """How much a funder has been given: on the business date, in total, and still out."""

    funder_code: str
    routed_today: Money
    routed_total: Money
    outstanding: Money

    @classmethod
    def empty(cls, funder_code: str, currency: str = DEFAULT_CURRENCY) -> FunderPosition:
        zero = Money.zero(currency)
        return cls(funder_code, zero, zero, zero)


@dataclass(frozen=True, slots=True)
class FundingRequest:
    """What routing knows about the loan to fund."""

    amount: Money
    product_code: str
    on: dt.date
    score: int | None = None
    region_code: str = ""


def funder_problems(
    funder: Funder, position: FunderPosition, request: FundingRequest, tranche: Money
) -> list[str]:
    """Every reason ``funder`` cannot fund ``tranche`` of this loan ([] = it can)."""
    problems: list[str] = []
    whitelist = funder.whitelist_problem(request.on)
    if whitelist:
        problems.append(whitelist)
    if not funder.licence_no.strip():
        problems.append("no_licence")
    if tranche.currency != funder.currency:
        return [*problems, "currency_not_offered"]
    if funder.regions and request.region_code not in funder.regions:
        problems.append("region_not_served")
    if funder.products and request.product_code not in funder.products:
        problems.append("product_not_offered")
    if funder.min_score is not None:
        if request.score is None:
            problems.append("score_unknown")
        elif request.score < funder.min_score:
            problems.append("score_below_cutoff")
    if tranche < funder.min_amount:
        problems.append("amount_below_minimum")
    if tranche > funder.max_amount:
        problems.append("amount_above_maximum")
    if funder.daily_quota is not None and position.routed_today + tranche > funder.daily_quota:
        problems.append("daily_quota_exhausted")
    if funder.total_quota is not None and position.routed_total + tranche > funder.total_quota:
        problems.append("total_quota_exhausted")
    if funder.max_balance is not None and position.outstanding + tranche > funder.max_balance:
        problems.append("concentration_limit")
    return problems


def score_band(score: int | None) -> str:
    """Band a partner is told (A best … F), the cash product's bands; '' when unknown."""
    if score is None:
        return ""
    for floor, band in ((580, "A"), (560, "B"), (545, "C"), (530, "D"), (515, "E")):
        if score >= floor:
            return band
    return "F"
