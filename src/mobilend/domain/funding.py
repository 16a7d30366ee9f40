"""Funding: who lends the money of a loan, and how the loan's money is shared among them.

A *funder* is the platform's own capital pool or a licensed partner institution (bank,
consumer-finance company, micro-lender). Only a funder that is whitelisted on the day,
holds a licence, serves the borrower's region and the product, accepts the borrower's
score and the amount, and still has quota and room under its concentration limit can
fund a loan (``funder_problems`` lists every reason it cannot).

A *programme* says how a loan is funded: by one funder, or jointly (联合贷款) by several
with fixed shares, each at least 30 %. The principal is split by largest remainder
(``split_principal``) so the tranches sum exactly to the loan; what the borrower later
pays is split the same way, component by component (``split_collection``), and each
funder keeps its ``interest_share`` of the interest, fees and penalty on its tranche —
the rest is the platform's margin for originating and servicing.

Pure rules: positions, dates and settings come in as arguments.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.ledger import (
    DEFAULT_CASH_ACCOUNT,
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
    account_key,
)
from mobilend.domain.money import DEFAULT_CURRENCY, Money

#: A partner in a joint loan must fund at least this share (CBIRC joint-lending rule).
MIN_JOINT_SHARE = Decimal("0.30")
#: Code of the platform's own capital pool.
OWN_POOL = "own_pool"
#: Money booked as paid out but not yet confirmed by the payment rail.
RAIL_IN_TRANSIT = account_key(Account.CASH, "rail", "in_transit")

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
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
        if not _CODE.fullmatch(self.code):
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


# --------------------------------------------------------------------------- programmes


class JointShareTooSmall(ValidationFailed):
    code = "joint_share_too_small"


@dataclass(frozen=True, slots=True)
class ProgrammeShare:
    funder_code: str
    share: Decimal


def check_shares(shares: Sequence[ProgrammeShare]) -> None:
    """Shares are positive, sum to exactly 1, name each funder once, and in a joint loan
    give every partner at least ``MIN_JOINT_SHARE``."""
    if not shares:
        raise ValidationFailed([_problem("shares", "at least one funder is required")])
    problems: list[Problem] = []
    codes = [s.funder_code for s in shares]
    if len(set(codes)) != len(codes):
        problems.append(_problem("shares", "a funder appears twice"))
    if any(s.share <= 0 for s in shares):
        problems.append(_problem("shares", "every share must be positive"))
    if sum((s.share for s in shares), Decimal(0)) != _ONE:
        problems.append(_problem("shares", "shares must sum to exactly 1"))
    if problems:
        raise ValidationFailed(problems)
    small = [s for s in shares if s.share < MIN_JOINT_SHARE]
    if len(shares) > 1 and small:
        names = ", ".join(f"{s.funder_code} {s.share:%}" for s in small)
        raise JointShareTooSmall(
            [
                _problem(
                    "shares",
                    f"联合贷款各方出资比例不得低于30% / each joint-lending partner must fund "
                    f"at least 30 % ({names})",
                )
            ]
        )


@dataclass(frozen=True, slots=True)
class Programme:
    """How loans are funded: one funder, or several jointly with fixed shares."""

    code: str
    name: str
    shares: tuple[ProgrammeShare, ...]
    priority: int = 100  # lower goes first
    weight: Decimal = _ONE  # share of loans under round-robin routing
    enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", tuple(self.shares))
        object.__setattr__(self, "weight", Decimal(self.weight))
        if not _CODE.fullmatch(self.code):
            raise ValidationFailed([_problem("code", "lower-case letters, digits, _ or -")])
        if self.weight <= 0:
            raise ValidationFailed([_problem("weight", "must be positive")])
        check_shares(self.shares)

    @property
    def is_joint(self) -> bool:
        return len(self.shares) > 1

    @property
    def funder_codes(self) -> tuple[str, ...]:
        return tuple(s.funder_code for s in self.shares)

    def to_state(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "shares": [{"funder": s.funder_code, "share": str(s.share)} for s in self.shares],
            "priority": self.priority,
            "weight": str(self.weight),
            "enabled": self.enabled,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Programme:
        return cls(
            code=str(state["code"]),
            name=str(state.get("name", "")),
            shares=tuple(
                ProgrammeShare(str(s["funder"]), Decimal(str(s["share"]))) for s in state["shares"]
            ),
            priority=int(state.get("priority", 100)),
            weight=Decimal(str(state.get("weight", "1"))),
            enabled=bool(state.get("enabled", True)),
        )


def single_funder_programme(funder: Funder) -> Programme:
    return Programme(
        funder.code, funder.name, (ProgrammeShare(funder.code, _ONE),), funder.priority
    )


# --------------------------------------------------------------------------- splitting


@dataclass(frozen=True, slots=True)
class Tranche:
    """One funder's part of a loan."""

    funder_code: str
    principal: Money
    share: Decimal
    interest_share: Decimal
    cash_account: str
    requires_approval: bool = False
    joint: bool = False  # one of several funders of the loan


def split_principal(amount: Money, shares: Sequence[Decimal]) -> list[Money]:
    """The principal split by share at the fen, largest remainder first: sums exactly."""
    return amount.allocate(list(shares))


def tranches_for(
    amount: Money, programme: Programme, funders: Mapping[str, Funder]
) -> list[Tranche]:
    parts = split_principal(amount, [s.share for s in programme.shares])
    result = []
    for share, part in zip(programme.shares, parts, strict=True):
        funder = funders[share.funder_code]
        result.append(
            Tranche(
                funder.code,
                part,
                share.share,
                funder.interest_share,
                funder.cash_account,
                funder.requires_approval,
                programme.is_joint,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class FunderTake:
    """What one funder is owed out of money collected on a loan."""

    funder_code: str
    principal: Money
    interest: Money
    fees: Money
    penalty: Money
    platform_margin: Money  # the part of its share of income the platform keeps

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.fees + self.penalty


def _funder_part(part: Money, interest_share: Decimal) -> Money:
    return Money(part.amount * interest_share, part.currency).round()


def split_collection(collected: ComponentAmounts, tranches: Sequence[Tranche]) -> list[FunderTake]:
    """Split money collected on a loan between its funders, exactly.

    Each component is split by the tranches' shares with largest remainder, so the parts
    sum to what was collected; of its interest, fees and penalty a funder keeps
    ``interest_share`` (rounded half-up) and the platform keeps the rest.
    """
    if not tranches:
        raise ValidationFailed([_problem("tranches", "a loan has at least one tranche")])
    shares = [t.share for t in tranches]
    currency = collected.principal.currency
    zero = Money.zero(currency)

    def split(amount: Money) -> list[Money]:
        return split_principal(amount, shares) if not amount.is_zero() else [zero] * len(shares)

    principal, interest = split(collected.principal), split(collected.interest)
    fees, penalty = split(collected.fees), split(collected.penalty)
    takes = []
    for i, tranche in enumerate(tranches):
        kept = [_funder_part(p[i], tranche.interest_share) for p in (interest, fees, penalty)]
        margin = (interest[i] - kept[0]) + (fees[i] - kept[1]) + (penalty[i] - kept[2])
        takes.append(
            FunderTake(tranche.funder_code, principal[i], kept[0], kept[1], kept[2], margin)
        )
    return takes


# --------------------------------------------------------------------------- eligibility


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


@dataclass(frozen=True, slots=True)
class ProgrammeFit:
    """A programme weighed for one loan: its tranches, or why it cannot take the loan."""

    programme: Programme
    tranches: tuple[Tranche, ...]
    problems: Mapping[str, tuple[str, ...]]  # funder code → reasons; empty when it fits
    blended_cost: Decimal  # Σ share × cost of funds

    @property
    def fits(self) -> bool:
        return not self.problems

    def reasons(self) -> dict[str, list[str]]:
        return {code: list(reasons) for code, reasons in self.problems.items()}


def fit_programme(
    programme: Programme,
    funders: Mapping[str, Funder],
    positions: Mapping[str, FunderPosition],
    request: FundingRequest,
    *,
    excluded: Iterable[str] = (),
    joint_outstanding: Money | None = None,
    joint_limit: Money | None = None,
) -> ProgrammeFit:
    """Weigh ``programme`` for the loan: every funder's problems with its tranche, plus
    funders already excluded for this loan (a decline) and the joint-balance limit."""
    excluded_codes = set(excluded)
    problems: dict[str, tuple[str, ...]] = {}
    missing = [code for code in programme.funder_codes if code not in funders]
    if missing or not programme.enabled:
        for code in missing:
            problems[code] = ("funder_unknown",)
        if not programme.enabled:
            problems["programme"] = ("programme_disabled",)
        return ProgrammeFit(programme, (), problems, Decimal(0))
    tranches = tranches_for(request.amount, programme, funders)
    zero = Money.zero(request.amount.currency)
    for tranche in tranches:
        funder = funders[tranche.funder_code]
        position = positions.get(funder.code) or FunderPosition(funder.code, zero, zero, zero)
        reasons = funder_problems(funder, position, request, tranche.principal)
        if funder.code in excluded_codes:
            reasons.append("excluded_for_this_loan")
        if reasons:
            problems[funder.code] = tuple(reasons)
    if programme.is_joint and joint_limit is not None:
        already = joint_outstanding if joint_outstanding is not None else zero
        if already + request.amount > joint_limit:
            problems["programme"] = ("joint_balance_limit",)
    cost = sum(
        (s.share * funders[s.funder_code].cost_of_funds for s in programme.shares), Decimal(0)
    )
    return ProgrammeFit(programme, tuple(tranches), problems, cost)


# --------------------------------------------------------------------------- ledger


def payout_settlement_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    tranches: Sequence[Tranche],
    rail_reference: str = "",
    in_transit_account: str = RAIL_IN_TRANSIT,
) -> JournalEntry:
    """The rail confirmed the payout: Dr rail in-transit / Cr each funder's cash for its
    tranche. The loan's cash balance is unchanged (it moves between cash accounts)."""
    total = tranches[0].principal
    for tranche in tranches[1:]:
        total = total + tranche.principal
    postings = [Posting(in_transit_account, total, loan_id)]
    by_account: dict[str, Money] = {}
    for tranche in tranches:
        held = by_account.get(tranche.cash_account)
        by_account[tranche.cash_account] = (
            tranche.principal if held is None else held + tranche.principal
        )
    for account, amount in by_account.items():
        postings.append(Posting(account, -amount, loan_id, account.rsplit(":", 1)[-1]))
    memo = "payout settled by rail" + (f" {rail_reference}" if rail_reference else "")
    return JournalEntry(
        entry_id, EntryKind.DISBURSEMENT, business_date, tuple(postings), loan_id, None, memo
    )


def score_band(score: int | None) -> str:
    """Band a partner is told (A best … F), the cash product's bands; '' when unknown."""
    if score is None:
        return ""
    for floor, band in ((580, "A"), (560, "B"), (545, "C"), (530, "D"), (515, "E")):
        if score >= floor:
            return band
    return "F"
