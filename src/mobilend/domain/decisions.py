"""Credit decisions as values: what an applicant is, what the engine answers, and the
actions a periodic line review can take. Shared by the risk engine and the use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mobilend.domain.money import Money


class DecisionOutcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    REFER = "refer"


class ReviewAction(StrEnum):
    """What a periodic line review does to a line."""

    KEEP = "keep"
    LOWER = "lower"
    FREEZE = "freeze"
    PROPOSE_INCREASE = "propose_increase"


class ProposalStatus(StrEnum):
    """A proposed increase waits for the borrower; it is applied only when accepted."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Applicant:
    """What the decision engine is told about an application (PII already decrypted)."""

    application_id: str
    borrower_id: str
    product_code: str
    full_name: str
    national_id: str
    phone: str
    birth_date: dt.date | None = None
    region_code: str = ""
    device_id: str = ""
    ip_address: str = ""
    bank_card: str = ""
    monthly_income: Money | None = None
    declared: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionReason:
    code: str
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class CreditDecision:
    decision_id: str
    outcome: DecisionOutcome
    limit: Money | None
    annual_rate: Decimal | None  # a fraction, e.g. Decimal("0.18"); None unless approved
    expires_on: dt.date | None
    reasons: tuple[DecisionReason, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
