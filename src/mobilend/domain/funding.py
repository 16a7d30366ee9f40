"""Funding: how a loan's money is shared among the funders that lend it.

A *programme* says how a loan is funded: by one funder, or jointly (联合贷款) by several
with fixed shares, the platform's own pool carrying at least 30 % of each joint loan. The principal is split by largest remainder
(``split_principal``) so the tranches sum exactly to the loan; what the borrower later
pays is split the same way, component by component (``split_collection``), and each
funder keeps its ``interest_share`` of the interest, fees and penalty on its tranche —
the rest is the platform's margin for originating and servicing. ``fit_programme``
weighs a programme for one loan against every funder's rules (``domain.funders``).

Pure rules: positions, dates and settings come in as arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.domain.compliance.breaches import Breach
from mobilend.domain.compliance.config import DEFAULT_JOINT_OWN_SHARE
from mobilend.domain.compliance.parties import own_share_breaches
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.funders import (
    CODE_PATTERN,
    OWN_POOL,
    Funder,
    FunderKind,
    FunderPosition,
    FundingRequest,
    WhitelistStatus,
    default_own_pool,
    funder_problems,
    score_band,
)
from mobilend.domain.ledger import (
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
    account_key,
)
from mobilend.domain.money import Money

__all__ = [
    "MIN_JOINT_SHARE",
    "OWN_POOL",
    "RAIL_IN_TRANSIT",
    "Funder",
    "FunderKind",
    "FunderPosition",
    "FunderTake",
    "FundingRequest",
    "JointShareTooSmall",
    "Programme",
    "ProgrammeFit",
    "ProgrammeShare",
    "Tranche",
    "WhitelistStatus",
    "check_shares",
    "default_own_pool",
    "fit_programme",
    "funder_problems",
    "payout_settlement_entry",
    "score_band",
    "single_funder_programme",
    "split_collection",
    "split_principal",
    "tranches_for",
]

#: The platform's own funds carry at least this share of a joint loan (CBIRC joint-lending
#: rule; ``compliance.Rulebook.joint_own_share`` has it by licence type and date).
MIN_JOINT_SHARE = DEFAULT_JOINT_OWN_SHARE
#: Money booked as paid out but not yet confirmed by the payment rail.
RAIL_IN_TRANSIT = account_key(Account.CASH, "rail", "in_transit")

_ONE = Decimal(1)


def _problem(name: str, text: str) -> Problem:
    return Problem(name, text)


# --------------------------------------------------------------------------- programmes


class JointShareTooSmall(ValidationFailed):
    """The platform's own share of a joint programme is below the minimum."""

    code = "joint_share_too_small"

    def __init__(self, problems: Sequence[Problem], *, breaches: Sequence[Breach] = ()) -> None:
        super().__init__(problems)
        self.breaches: tuple[Breach, ...] = tuple(breaches)


@dataclass(frozen=True, slots=True)
class ProgrammeShare:
    funder_code: str
    share: Decimal


def check_shares(
    shares: Sequence[ProgrammeShare],
    minimum_own_share: Decimal = MIN_JOINT_SHARE,
    own_codes: Iterable[str] = (OWN_POOL,),
) -> None:
    """Shares are positive, sum to exactly 1, name each funder once, and in a joint loan
    give the platform's own pool (``own_codes``) at least ``minimum_own_share``."""
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
    breaches = own_share_breaches(shares, minimum_own_share, own_codes)
    if breaches:
        raise JointShareTooSmall([b.problem() for b in breaches], breaches=breaches)


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
        if not CODE_PATTERN.fullmatch(self.code):
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


# --------------------------------------------------------------------------- fitting


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
