"""Test doubles of the outside world for the funding use cases: a payment rail that
remembers what it was asked and answers as told, a partner bank, a clock that moves
only when told, and rail events as a webhook would carry them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mobilend.app.ports import (
    DebitRequest,
    PartnerAck,
    PartnerApprovalRequest,
    PayoutRequest,
    RailAck,
    RailStatementLine,
)
from mobilend.domain.errors import GatewayUnavailable
from mobilend.domain.money import Money

FAILING_CARDS = {"0054": "card_expired", "0014": "invalid_card", "0062": "card_restricted"}


class ManualClock:
    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Event:
    """A verified rail callback, as ``verify_webhook`` would hand it over."""

    event_id: str
    idempotency_key: str
    status: str
    amount: Money
    sequence: int = 1
    final: bool = True
    failure_code: str = ""
    rail_reference: str = "PG1"
    direction: str = "payout"
    settled_on: dt.date | None = None

    @property
    def event_type(self) -> str:
        return f"{self.direction}.{self.status}"


@dataclass
class FakeRail:
    """Settles instantly in its own books; says so only when asked (status, statement)
    or when the test delivers an event. ``unavailable`` makes the next calls fail."""

    business_date: dt.date = dt.date(2026, 1, 15)
    unavailable: int = 0
    requests: list[PayoutRequest] = field(default_factory=list)
    settled: dict[str, tuple[PayoutRequest, str, str]] = field(default_factory=dict)
    extra_lines: list[RailStatementLine] = field(default_factory=list)

    def _gate(self) -> None:
        if self.unavailable:
            self.unavailable -= 1
            raise GatewayUnavailable("rail down (test)")

    def send_payout(self, request: PayoutRequest) -> RailAck:
        self._gate()
        self.requests.append(request)
        if request.idempotency_key not in self.settled:
            failure = FAILING_CARDS.get(request.card_number[-4:], "")
            status = "failed" if failure else "succeeded"
            self.settled[request.idempotency_key] = (request, status, failure)
        return RailAck(True, "PG-" + request.idempotency_key, "pending")

    def request_debit(self, request: DebitRequest) -> RailAck:
        raise NotImplementedError

    def payout_status(self, idempotency_key: str) -> RailAck:
        self._gate()
        found = self.settled.get(idempotency_key)
        if found is None:
            return RailAck(False, "", "unknown", "not_found")
        _, status, failure = found
        return RailAck(True, "PG-" + idempotency_key, status, failure, self.business_date)

    def statement(self, day: dt.date) -> list[RailStatementLine]:
        lines = [
            RailStatementLine("PG-" + key, key, "payout", req.amount, status, self.business_date)
            for key, (req, status, _) in sorted(self.settled.items())
        ]
        return [*lines, *self.extra_lines] if day == self.business_date else []

    def event_for(self, key: str, event_id: str | None = None, **overrides: object) -> Event:
        request, status, failure = self.settled[key]
        fields: dict[str, object] = {
            "event_id": event_id or f"evt-{key}",
            "idempotency_key": key,
            "status": status,
            "amount": request.amount,
            "failure_code": failure,
            "rail_reference": "PG-" + key,
            "settled_on": self.business_date,
        }
        fields.update(overrides)
        return Event(**fields)  # type: ignore[arg-type]


@dataclass
class FakePartner:
    """Decides by a table (request amount → decision) only when asked for its status,
    or never (``silent``). Records every request."""

    decision: str = "approved"  # approved | declined
    silent: bool = False
    requests: list[PartnerApprovalRequest] = field(default_factory=list)

    def request_approval(self, request: PartnerApprovalRequest) -> PartnerAck:
        self.requests.append(request)
        return PartnerAck(True, "P-" + request.request_id, "pending")

    def approval_status(self, request_id: str) -> PartnerAck:
        if self.silent:
            return PartnerAck(True, "P-" + request_id, "pending")
        amount = next(r.amount for r in self.requests if r.request_id == request_id)
        approved = amount if self.decision == "approved" else None
        reason = "" if self.decision == "approved" else "score_band_not_accepted"
        return PartnerAck(True, "P-" + request_id, self.decision, approved, reason)
