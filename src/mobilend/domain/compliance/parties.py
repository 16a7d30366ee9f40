"""Rules about who lends and who borrows: the per-borrower cap, eligibility, the
platform's own share of joint loans, partner institutions and the payout.

The per-borrower cap holds by *identity* (one person, whatever accounts they
hold): the caller gathers every line and loan of the person and passes their
``BorrowerExposure``. Opening a line (or raising a limit) adds commitment, so
outstanding principal + every usable line's unused limit + the new limit must fit;
a draw turns unused limit into principal, so there the balance after the draw
(outstanding principal + the amount) must fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mobilend.domain.borrowers import age_on
from mobilend.domain.compliance.breaches import Breach, Rule, percent
from mobilend.domain.compliance.config import RuleSettings
from mobilend.domain.compliance.products import borrower_cap_breach
from mobilend.domain.funders import OWN_POOL, Funder, FunderKind
from mobilend.domain.lines import CreditLine, LineStatus
from mobilend.domain.money import DEFAULT_CURRENCY, Money, total


class FundingShare(Protocol):
    """A funder's share of a loan (``domain.funding.ProgrammeShare``)."""

    @property
    def funder_code(self) -> str: ...

    @property
    def share(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class BorrowerExposure:
    """What one person owes and may still draw, across all their accounts and lines."""

    outstanding_principal: Money
    unused_limits: Money

    @property
    def total(self) -> Money:
        return self.outstanding_principal + self.unused_limits

    @classmethod
    def of(
        cls,
        lines: Iterable[CreditLine],
        outstanding_principal: Iterable[Money],
        on: dt.date,
        currency: str = DEFAULT_CURRENCY,
    ) -> BorrowerExposure:
        """From the person's lines and the outstanding principal of every loan they
        have (loans on expired or closed lines included). A line's unused limit counts
        while it can still be drawn: active or frozen (a freeze can be lifted), and
        not expired on ``on``."""
        usable = [
            line.available
            for line in lines
            if line.status in (LineStatus.ACTIVE, LineStatus.FROZEN) and not line.is_expired_on(on)
        ]
        return cls(total(outstanding_principal, currency), total(usable, currency))


def line_opening_breaches(
    rules: RuleSettings,
    exposure: BorrowerExposure,
    new_limit: Money,
    licence_type: str,
    on: dt.date,
) -> list[Breach]:
    """Opening a line of ``new_limit`` (or, for a limit change, the new limit minus what
    the line already has drawn, with ``exposure`` leaving that line's unused limit out)."""
    cap = rules.borrower_cap(licence_type, on)
    breach = borrower_cap_breach(
        "limit",
        exposure.total + new_limit,
        cap,
        f"已有借款与额度 {exposure.total.format()} 加新额度 {new_limit.format()} 合计",
        f"existing balance and lines {exposure.total.format()} plus the new limit "
        f"{new_limit.format()} come to",
    )
    return [] if breach is None else [breach]


def draw_breaches(
    rules: RuleSettings,
    exposure: BorrowerExposure,
    amount: Money,
    licence_type: str,
    on: dt.date,
) -> list[Breach]:
    """A draw of ``amount``: the person's principal balance after it must fit the cap."""
    cap = rules.borrower_cap(licence_type, on)
    after = exposure.outstanding_principal + amount
    breach = borrower_cap_breach(
        "amount",
        after,
        cap,
        "借款后本金余额",
        "the principal balance after this draw",
    )
    return [] if breach is None else [breach]


def borrower_breaches(
    rules: RuleSettings,
    birth_date: dt.date,
    is_student: bool,
    licence_type: str,
    on: dt.date,
) -> list[Breach]:
    """No lending to students (unless the licence allows it) or to the under-age."""
    breaches = []
    minimum = rules.minimum_age(licence_type, on)
    age = age_on(birth_date, on)
    if age < minimum:
        breaches.append(
            Breach(
                Rule.MINIMUM_AGE,
                "birth_date",
                f"{age}",
                f"{minimum}",
                f"借款人须年满 {minimum} 周岁（现 {age} 岁）",
                f"a borrower must be at least {minimum} (is {age})",
            )
        )
    if is_student and not rules.students_allowed(licence_type, on):
        breaches.append(
            Breach(
                Rule.STUDENT,
                "is_student",
                "student",
                "none",
                "不得向在校学生发放贷款",
                "no loans may be made to students",
            )
        )
    return breaches


def own_share_breaches(
    shares: Sequence[FundingShare], minimum: Decimal, own_codes: Iterable[str] = (OWN_POOL,)
) -> list[Breach]:
    """In a joint loan the platform's own funds carry at least ``minimum`` of it."""
    if len(shares) < 2:
        return []
    own_set = set(own_codes)
    own = sum((s.share for s in shares if s.funder_code in own_set), Decimal(0))
    if own >= minimum:
        return []
    return [
        Breach(
            Rule.JOINT_OWN_SHARE,
            "shares",
            percent(own),
            percent(minimum),
            f"联合贷款中平台自有资金出资比例不得低于 {percent(minimum)}（现 {percent(own)}）",
            f"the platform's own funds must carry at least {percent(minimum)} of each "
            f"joint loan (here {percent(own)})",
        )
    ]


def joint_breaches(
    rules: RuleSettings,
    shares: Sequence[FundingShare],
    licence_type: str,
    on: dt.date,
    own_codes: Iterable[str] = (OWN_POOL,),
) -> list[Breach]:
    return own_share_breaches(shares, rules.joint_own_share(licence_type, on), own_codes)


def partner_breaches(
    rules: RuleSettings, funder: Funder, licence_type: str, on: dt.date
) -> list[Breach]:
    """A partner funds loans only when licensed, of an allowed kind and whitelisted."""
    if funder.kind is FunderKind.OWN_POOL:
        return []
    allowed = rules.partner_kinds(licence_type, on)
    reasons = []
    if funder.kind.value not in allowed:
        reasons.append(f"kind {funder.kind.value}")
    if not funder.licence_no.strip():
        reasons.append("no licence")
    whitelist = funder.whitelist_problem(on)
    if whitelist:
        reasons.append(whitelist)
    if not reasons:
        return []
    why = ", ".join(reasons)
    return [
        Breach(
            Rule.PARTNER_WHITELIST,
            "funder",
            why,
            f"licensed, whitelisted, one of {', '.join(sorted(allowed))}",
            f"合作机构 {funder.code} 不在白名单内或不具备资质（{why}）",
            f"partner {funder.code} is not a whitelisted, licensed institution ({why})",
            funder.code,
        )
    ]


def payout_breaches(principal: Money, paid_out: Money) -> list[Breach]:
    """The borrower is paid the whole contract principal: nothing is deducted upfront."""
    if paid_out == principal:
        return []
    return [
        Breach(
            Rule.UPFRONT_DEDUCTION,
            "amount",
            paid_out.format(),
            principal.format(),
            f"放款金额 {paid_out.format()} 须等于合同本金 {principal.format()}，不得预先扣除",
            f"the payout {paid_out.format()} must equal the contract principal "
            f"{principal.format()}: nothing may be deducted upfront",
        )
    ]
