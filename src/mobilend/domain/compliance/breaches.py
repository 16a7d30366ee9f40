"""The one vocabulary for broken rules: a rule code, the figure that broke it, the
limit it broke, and a message in Simplified Chinese with English alongside.

Checks return ``Breach`` values (a compliance report lists them); a use case that
must refuse raises ``refusal(breaches)``, the ``RuleBroken`` subclass of the first
breach's rule, carrying every breach as a field-level problem.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.domain.errors import ComplianceViolation, Problem


class Rule(enum.StrEnum):
    COST_CAP = "cost_cap"  # 综合融资成本上限 (APR by IRR)
    PENALTY_CAP = "penalty_cap"  # 利息 + 罚息 within the cost cap
    BORROWER_CAP = "borrower_cap"  # 单户授信及借款余额上限
    BULLET_TERM = "bullet_term"  # 到期一次还本付息期限
    JOINT_OWN_SHARE = "joint_own_share"  # 联合贷款平台自有出资比例
    PARTNER_WHITELIST = "partner_whitelist"  # 合作机构白名单
    PLATFORM_FEE = "platform_fee"  # 不得向借款人收取平台服务费
    UPFRONT_DEDUCTION = "upfront_deduction"  # 不得预先扣除（砍头息）
    STUDENT = "student"  # 不得向在校学生放贷
    MINIMUM_AGE = "minimum_age"  # 不得向未成年人放贷


#: Each rule's name, Chinese and English, for reports and messages.
RULE_NAMES: dict[Rule, tuple[str, str]] = {
    Rule.COST_CAP: ("综合融资成本上限", "cost cap"),
    Rule.PENALTY_CAP: ("利息与罚息合计上限", "interest and penalty cap"),
    Rule.BORROWER_CAP: ("单户借款上限", "per-borrower cap"),
    Rule.BULLET_TERM: ("到期一次还本付息期限", "bullet loan term limit"),
    Rule.JOINT_OWN_SHARE: ("联合贷款自有出资比例", "joint-lending own share"),
    Rule.PARTNER_WHITELIST: ("合作机构白名单", "partner whitelist"),
    Rule.PLATFORM_FEE: ("不得收取平台费用", "no fee payable to a platform operator"),
    Rule.UPFRONT_DEDUCTION: ("不得预扣本金", "no upfront deduction"),
    Rule.STUDENT: ("不得向在校学生放贷", "no lending to students"),
    Rule.MINIMUM_AGE: ("不得向未成年人放贷", "no lending to under-18s"),
}


def percent(rate: Decimal) -> str:
    """A fraction as a percentage with two decimals: 0.2451 → '24.51%'."""
    return f"{(rate * 100).quantize(Decimal('0.01'))}%"


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule broken: which, by which input field, the figure found and the limit."""

    rule: Rule
    field: str
    figure: str
    limit: str
    zh: str
    en: str
    subject: str = ""  # what broke it: a product code, a line or loan id...

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def problem(self) -> Problem:
        return Problem(self.field, self.message)

    def about(self, subject: str) -> Breach:
        """The same breach, naming what broke it."""
        return Breach(self.rule, self.field, self.figure, self.limit, self.zh, self.en, subject)

    def to_dict(self) -> dict[str, Any]:
        zh_name, en_name = RULE_NAMES[self.rule]
        return {
            "rule": self.rule.value,
            "rule_name_zh": zh_name,
            "rule_name_en": en_name,
            "subject": self.subject,
            "field": self.field,
            "figure": self.figure,
            "limit": self.limit,
            "message": self.message,
        }


class RuleBroken(ComplianceViolation):
    """A regulatory rule would be broken; ``breaches`` lists every rule that is."""

    code = "rule_broken"

    def __init__(self, breaches: Sequence[Breach]) -> None:
        if not breaches:
            raise ValueError("a refusal needs at least one breach")
        self.breaches: tuple[Breach, ...] = tuple(breaches)
        super().__init__(
            "; ".join(b.message for b in self.breaches), [b.problem() for b in self.breaches]
        )

    @property
    def rule(self) -> Rule:
        return self.breaches[0].rule

    @property
    def figure(self) -> str:
        return self.breaches[0].figure

    @property
    def limit(self) -> str:
        return self.breaches[0].limit


class AprAboveCap(RuleBroken):
    code = "apr_above_cap"


class PenaltyAboveCap(RuleBroken):
    code = "penalty_above_cap"


class BorrowerCapExceeded(RuleBroken):
    code = "borrower_cap_exceeded"


class BulletTermTooLong(RuleBroken):
    code = "bullet_term_too_long"


class OwnShareTooSmall(RuleBroken):
    code = "joint_own_share_too_small"


class PartnerNotAllowed(RuleBroken):
    code = "partner_not_allowed"


class PlatformFeeForbidden(RuleBroken):
    code = "platform_fee_forbidden"


class UpfrontDeduction(RuleBroken):
    code = "upfront_deduction"


class BorrowerNotEligible(RuleBroken):
    code = "borrower_not_eligible"


class NoCostCap(ComplianceViolation):
    code = "no_cost_cap"


_REFUSALS: dict[Rule, type[RuleBroken]] = {
    Rule.COST_CAP: AprAboveCap,
    Rule.PENALTY_CAP: PenaltyAboveCap,
    Rule.BORROWER_CAP: BorrowerCapExceeded,
    Rule.BULLET_TERM: BulletTermTooLong,
    Rule.JOINT_OWN_SHARE: OwnShareTooSmall,
    Rule.PARTNER_WHITELIST: PartnerNotAllowed,
    Rule.PLATFORM_FEE: PlatformFeeForbidden,
    Rule.UPFRONT_DEDUCTION: UpfrontDeduction,
    Rule.STUDENT: BorrowerNotEligible,
    Rule.MINIMUM_AGE: BorrowerNotEligible,
}


def refusal(breaches: Sequence[Breach]) -> RuleBroken:
    """The error to raise for these breaches: the class of the first one's rule."""
    return _REFUSALS[breaches[0].rule](breaches)


def refuse_if_any(breaches: Sequence[Breach]) -> None:
    if breaches:
        raise refusal(breaches)
