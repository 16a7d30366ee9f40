"""Compliance: every regulatory rule in one effective-dated place.

``Rulebook`` (also known as ``CostCapPolicy``) holds the rules per licence type and
date and checks products, lines, offers, draws, penalties and funding against them;
``Breach`` and the ``RuleBroken`` errors are the one vocabulary for what is broken.
"""

from mobilend.domain.compliance.breaches import (
    RULE_NAMES,
    AprAboveCap,
    BorrowerCapExceeded,
    BorrowerNotEligible,
    Breach,
    BulletTermTooLong,
    NoCostCap,
    OwnShareTooSmall,
    PartnerNotAllowed,
    PenaltyAboveCap,
    PlatformFeeForbidden,
    Rule,
    RuleBroken,
    UpfrontDeduction,
    refusal,
)
from mobilend.domain.compliance.config import (
    ANY_LICENCE,
    DEFAULT_COST_CAP,
    DEFAULT_JOINT_OWN_SHARE,
    DEFAULT_SETTINGS,
    CostCap,
    LprCap,
    LprTable,
    Setting,
)
from mobilend.domain.compliance.offers import PricedOffer, highest_rate_within_cap
from mobilend.domain.compliance.parties import BorrowerExposure
from mobilend.domain.compliance.products import (
    MAX_TERMS_SCANNED,
    RATE_STEP,
    ProductCostCheck,
    annualised_penalty,
    penalty_ceiling,
)
from mobilend.domain.compliance.rulebook import CostCapPolicy, Rulebook

__all__ = [
    "ANY_LICENCE", "DEFAULT_COST_CAP", "DEFAULT_JOINT_OWN_SHARE", "DEFAULT_SETTINGS",
    "MAX_TERMS_SCANNED", "RATE_STEP", "RULE_NAMES",
    "AprAboveCap", "BorrowerCapExceeded", "BorrowerExposure", "BorrowerNotEligible",
    "Breach", "BulletTermTooLong", "CostCap", "CostCapPolicy", "LprCap", "LprTable",
    "NoCostCap", "OwnShareTooSmall", "PartnerNotAllowed", "PenaltyAboveCap",
    "PlatformFeeForbidden", "PricedOffer", "ProductCostCheck", "Rule", "RuleBroken",
    "Rulebook", "Setting", "UpfrontDeduction", "annualised_penalty",
    "highest_rate_within_cap", "penalty_ceiling", "refusal",
]  # fmt: skip
