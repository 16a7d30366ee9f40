"""Collections (贷后催收) as rules and values: cases, strategies by bucket and risk segment
with champion/challenger, expected recovery, promises to pay, hardship plans, settlement
offers and write-off eligibility, and the four-eyes rule between maker and checker.

A case is opened for a loan as soon as it is past due and closed when the loan cures
(nothing past due), is paid off or settled; a written-off loan keeps its case open for
recoveries. Who works a case follows from its strategy: digital reminders only, an
in-house agent, an external agency, or legal action.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mobilend.domain.collections_conduct import Channel
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.money import Money


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    #: An approved hardship plan is running: only plan reminders go out.
    ARRANGEMENT = "arrangement"
    LEGAL = "legal"
    #: The loan is written off; the case stays open for recoveries.
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    CURED = "cured"  # nothing past due any more
    PAID_OFF = "paid_off"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class Placement(enum.StrEnum):
    """Who works a case."""

    DIGITAL = "digital"  # app push and SMS from the strategy, no agent
    AGENT = "agent"  # the lender's own collectors
    AGENCY = "agency"  # an external collection agency (委外)
    LEGAL = "legal"  # legal action (诉讼/仲裁)


class RiskSegment(enum.StrEnum):
    LOW = "low"
    HIGH = "high"


class Arm(enum.StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"


class PromiseStatus(enum.StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class ApprovalStatus(enum.StrEnum):
    """Settlement offers, hardship plans and write-offs need a second person."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    #: Carried out: a settlement paid, a plan completed, a write-off booked.
    DONE = "done"
    BROKEN = "broken"  # a hardship plan whose instalment was missed


class SameApprover(Conflict):
    code = "four_eyes_required"


def require_second_person(maker: str, checker: str) -> None:
    """Four eyes: who proposed may not approve."""
    if maker == checker:
        raise SameApprover("需由另一人审批 (a second person must approve what you proposed)")


def segment_for(score: int | None, threshold: int) -> RiskSegment:
    """Behaviour score (higher is riskier) to segment; no score yet counts as low risk."""
    return RiskSegment.HIGH if score is not None and score >= threshold else RiskSegment.LOW


# --------------------------------------------------------------------------- overdue notices


@dataclass(frozen=True, slots=True)
class OverdueNotice:
    """A notice every open case gets on one day past due (T+1, T+3, T+7), whatever its
    strategy: the early reminders and the credit-reporting notice the contract promises.
    They leave through the conduct gate like every other collection message."""

    dpd: int
    template: str
    channels: tuple[Channel, ...]

    @property
    def name(self) -> str:
        return f"T+{self.dpd}"


DEFAULT_OVERDUE_NOTICES: tuple[OverdueNotice, ...] = (
    OverdueNotice(1, "overdue_reminder", (Channel.SMS,)),
    OverdueNotice(3, "overdue_reminder", (Channel.PUSH, Channel.SMS)),
    OverdueNotice(7, "credit_report_notice", (Channel.SMS,)),
)


# --------------------------------------------------------------------------- strategies


@dataclass(frozen=True, slots=True)
class Treatment:
    placement: Placement
    #: For digital treatment: the channels and template of the strategy's messages.
    channels: tuple[Channel, ...] = ()
    template: str = "overdue_reminder"
    #: Days between two strategy messages of one case.
    every_days: int = 3


@dataclass(frozen=True, slots=True)
class StrategyRule:
    buckets: frozenset[str]
    treatment: Treatment
    segment: RiskSegment | None = None  # None: either segment

    def matches(self, bucket: str, segment: RiskSegment) -> bool:
        return bucket in self.buckets and (self.segment is None or self.segment is segment)


@dataclass(frozen=True, slots=True)
class Strategy:
    code: str
    name: str
    rules: tuple[StrategyRule, ...]

    def treatment_for(self, bucket: str, segment: RiskSegment) -> Treatment:
        for rule in self.rules:
            if rule.matches(bucket, segment):
                return rule.treatment
        return Treatment(Placement.AGENT)  # an unlisted bucket goes to people, never to nobody


def _rules(*rules: tuple[Sequence[str], RiskSegment | None, Treatment]) -> tuple[StrategyRule, ...]:
    return tuple(StrategyRule(frozenset(b), t, s) for b, s, t in rules)


_DIGITAL = Treatment(Placement.DIGITAL, (Channel.PUSH, Channel.SMS))
_LATE = ("M3", "M4", "M5")
_LEGAL = ("M6", "M6+")

#: The strategy in force: M1 low risk push + SMS; M1 high risk and M2 agent calls; M3–M5
#: an agency; M6 and beyond legal.
CHAMPION = Strategy(
    "standard-2026",
    "标准策略 (standard)",
    _rules(
        (("M1",), RiskSegment.LOW, _DIGITAL),
        (("M1",), RiskSegment.HIGH, Treatment(Placement.AGENT)),
        (("M2",), None, Treatment(Placement.AGENT)),
        (_LATE, None, Treatment(Placement.AGENCY)),
        (_LEGAL, None, Treatment(Placement.LEGAL)),
    ),
)

#: The challenger tries people earlier and keeps M3 in house one bucket longer.
CHALLENGER = Strategy(
    "early-agent-2026",
    "早期人工策略 (early agent)",
    _rules(
        (("M1",), None, Treatment(Placement.AGENT)),
        (("M2", "M3"), None, Treatment(Placement.AGENT)),
        (("M4", "M5"), None, Treatment(Placement.AGENCY)),
        (_LEGAL, None, Treatment(Placement.LEGAL)),
    ),
)


@dataclass(frozen=True, slots=True)
class StrategyBook:
    """Champion and challenger: a fixed share of cases, chosen by a stable hash of the
    loan id (so a case keeps its arm for life and the split is reproducible)."""

    champion: Strategy = CHAMPION
    challenger: Strategy | None = CHALLENGER
    challenger_percent: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.challenger_percent <= 50:
            raise ValidationFailed(
                [Problem("challenger_percent", "must be between 0 and 50 (the champion leads)")]
            )

    def arm_for(self, loan_id: str) -> tuple[Arm, Strategy]:
        if self.challenger is None or self.challenger_percent == 0:
            return Arm.CHAMPION, self.champion
        digest = hashlib.sha256(loan_id.encode("utf-8")).digest()
        if int.from_bytes(digest[:4], "big") % 100 < self.challenger_percent:
            return Arm.CHALLENGER, self.challenger
        return Arm.CHAMPION, self.champion

    def strategy(self, code: str) -> Strategy:
        for strategy in (self.champion, self.challenger):
            if strategy is not None and strategy.code == code:
                return strategy
        return self.champion  # a retired strategy's cases move to the champion


# --------------------------------------------------------------------------- expected recovery

#: Share of what is owed a case is expected to bring back, by bucket and segment — what
#: orders an agent's work queue. Figures a collections manager replaces with the
#: portfolio's own roll-back rates.
DEFAULT_RECOVERY_RATES: Mapping[tuple[str, RiskSegment], Decimal] = {
    ("M1", RiskSegment.LOW): Decimal("0.75"),
    ("M1", RiskSegment.HIGH): Decimal("0.45"),
    ("M2", RiskSegment.LOW): Decimal("0.35"),
    ("M2", RiskSegment.HIGH): Decimal("0.25"),
    ("M3", RiskSegment.LOW): Decimal("0.18"),
    ("M3", RiskSegment.HIGH): Decimal("0.12"),
    ("M4", RiskSegment.LOW): Decimal("0.10"),
    ("M4", RiskSegment.HIGH): Decimal("0.08"),
    ("M5", RiskSegment.LOW): Decimal("0.07"),
    ("M5", RiskSegment.HIGH): Decimal("0.05"),
}


def expected_recovery(
    owed: Money,
    bucket: str,
    segment: RiskSegment,
    rates: Mapping[tuple[str, RiskSegment], Decimal] = DEFAULT_RECOVERY_RATES,
    *,
    promised: Money | None = None,
) -> Money:
    """What working the case is expected to bring back; an open promise counts in full
    (a promise due is the surest money in the queue)."""
    rate = rates.get((bucket, segment), Decimal("0.03"))
    expected = (owed * rate).round()
    if promised is not None and promised > expected:
        return promised.min(owed)
    return expected


# --------------------------------------------------------------------------- promises and plans


def promise_status(
    promised: Money, paid_since: Money, due_on: dt.date, on: dt.date, grace_days: int = 1
) -> PromiseStatus:
    """Kept once the money since the promise covers it; broken when the due date plus
    grace has passed without that; pending otherwise."""
    if paid_since >= promised:
        return PromiseStatus.KEPT
    if on > due_on + dt.timedelta(days=grace_days):
        return PromiseStatus.BROKEN
    return PromiseStatus.PENDING


def validate_promise(
    amount: Money, due_on: dt.date, on: dt.date, owed: Money, max_days: int
) -> None:
    problems: list[Problem] = []
    if not amount.is_positive() or not amount.is_whole():
        problems.append(Problem("amount", "must be a positive amount exact to the fen"))
    elif amount > owed:
        problems.append(Problem("amount", f"exceeds what is owed ({owed.format()})"))
    if due_on < on:
        problems.append(Problem("due_on", "must not be in the past"))
    elif (due_on - on).days > max_days:
        problems.append(Problem("due_on", f"must be within {max_days} days"))
    if problems:
        raise ValidationFailed(problems)


@dataclass(frozen=True, slots=True)
class PlanInstalment:
    due_on: dt.date
    amount: Money


def validate_plan(
    instalments: Sequence[PlanInstalment], on: dt.date, owed: Money, max_instalments: int
) -> None:
    problems: list[Problem] = []
    if not instalments:
        problems.append(Problem("instalments", "at least one instalment is required"))
    if len(instalments) > max_instalments:
        problems.append(Problem("instalments", f"at most {max_instalments} instalments"))
    previous = on - dt.timedelta(days=1)
    total = Money.zero(owed.currency)
    for i, inst in enumerate(instalments):
        if not inst.amount.is_positive() or not inst.amount.is_whole():
            problems.append(
                Problem(f"instalments[{i}].amount", "must be positive, exact to the fen")
            )
        else:
            total = total + inst.amount
        if inst.due_on <= previous:
            problems.append(Problem(f"instalments[{i}].due_on", "dates must rise, from today on"))
        previous = inst.due_on
    if total > owed:
        problems.append(Problem("instalments", f"sum {total.format()} exceeds what is owed"))
    if problems:
        raise ValidationFailed(problems)


def plan_broken(
    instalments: Sequence[PlanInstalment], paid_since: Money, on: dt.date, grace_days: int = 3
) -> bool:
    """Whether the money since approval falls short of what was due by ``on`` − grace."""
    cutoff = on - dt.timedelta(days=grace_days)
    due = Money.zero(paid_since.currency)
    for inst in instalments:
        if inst.due_on < cutoff:
            due = due + inst.amount
    return paid_since < due


def plan_complete(instalments: Sequence[PlanInstalment], paid_since: Money) -> bool:
    total = Money.zero(paid_since.currency)
    for inst in instalments:
        total = total + inst.amount
    return paid_since >= total


# --------------------------------------------------------------------------- settlement and write-off


@dataclass(frozen=True, slots=True)
class ResolutionPolicy:
    """Limits on what collections may agree to. A larger discount needs a policy change."""

    #: Days past due from which a loan may be written off.
    write_off_after_dpd: int = 180
    #: Largest share of what is owed a settlement may waive.
    max_settlement_discount: Decimal = Decimal("0.50")
    settlement_valid_days: int = 14
    max_promise_days: int = 14
    promise_grace_days: int = 1
    max_plan_instalments: int = 12
    plan_grace_days: int = 3

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.max_settlement_discount < Decimal(1):
            raise ValidationFailed(
                [Problem("max_settlement_discount", "must be at least 0 and below 1")]
            )


def validate_settlement(amount: Money, owed: Money, policy: ResolutionPolicy) -> None:
    problems: list[Problem] = []
    if not amount.is_positive() or not amount.is_whole():
        problems.append(Problem("amount", "must be a positive amount exact to the fen"))
    elif amount > owed:
        problems.append(Problem("amount", f"exceeds what is owed ({owed.format()})"))
    else:
        floor = (owed * (Decimal(1) - policy.max_settlement_discount)).round()
        if amount < floor:
            problems.append(
                Problem(
                    "amount",
                    f"discount above {policy.max_settlement_discount:.0%}: at least "
                    f"{floor.format()} of {owed.format()}",
                )
            )
    if problems:
        raise ValidationFailed(problems)


def write_off_problems(dpd: int, policy: ResolutionPolicy) -> list[Problem]:
    if dpd < policy.write_off_after_dpd:
        return [
            Problem(
                "dpd",
                f"{dpd} days past due; write-off from {policy.write_off_after_dpd} days",
            )
        ]
    return []


# --------------------------------------------------------------------------- assignment


class AssignmentMode(enum.StrEnum):
    ROUND_ROBIN = "round_robin"
    BY_LOAD = "by_load"


@dataclass(frozen=True, slots=True)
class Assignee:
    """An agent who may take a case, with what they hold now."""

    agent_id: str
    open_cases: int
    capacity: int


@dataclass(slots=True)
class AssignmentBoard:
    """Deals cases out to agents: round robin in agent-id order from where the last deal
    stopped, or to whoever holds fewest (ties in id order); a full agent is skipped."""

    agents: list[Assignee]
    mode: AssignmentMode = AssignmentMode.BY_LOAD
    cursor: str = ""
    loads: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.agents = sorted(self.agents, key=lambda a: a.agent_id)
        self.loads = {a.agent_id: a.open_cases for a in self.agents}

    def _free(self, agent: Assignee) -> bool:
        return self.loads[agent.agent_id] < agent.capacity

    def next(self) -> str | None:
        free = [a for a in self.agents if self._free(a)]
        if not free:
            return None
        if self.mode is AssignmentMode.ROUND_ROBIN:
            after = [a for a in free if a.agent_id > self.cursor]
            chosen = (after or free)[0]
        else:
            chosen = min(free, key=lambda a: (self.loads[a.agent_id], a.agent_id))
        self.loads[chosen.agent_id] += 1
        self.cursor = chosen.agent_id
        return chosen.agent_id
