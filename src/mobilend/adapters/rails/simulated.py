"""A payment rail for portfolio simulations: it settles every payout at once in its own
books, on the business date of the simulated clock, and hands back the webhook events a
real gateway would send (the simulation delivers them through the same use case the
rail's callback route calls). Its statement lists what it settled each day, so the real
reconciliation runs against it. No network: a simulated year needs no sockets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from mobilend.app.ports import DebitRequest, PayoutRequest, RailAck, RailStatementLine
from mobilend.domain.money import Money

#: Card endings the simulated rail refuses, as the payment sandbox does.
REFUSED_CARDS = {"0054": "card_expired", "0014": "invalid_card", "0062": "card_restricted"}


@dataclass(frozen=True, slots=True)
class SettledEvent:
    """A rail webhook as the callback route hands it to ``apply_rail_event``."""

    event_id: str
    idempotency_key: str
    status: str
    amount: Money
    rail_reference: str
    settled_on: dt.date
    failure_code: str = ""
    sequence: int = 1
    final: bool = True
    direction: str = "payout"

    @property
    def event_type(self) -> str:
        return f"{self.direction}.{self.status}"


class SimulatedRail:
    """``business_date`` reads the simulated clock; ``drain()`` returns the events not yet
    delivered, oldest first."""

    def __init__(self, business_date: Callable[[], dt.date]) -> None:
        self._business_date = business_date
        self._settled: dict[str, tuple[PayoutRequest, str, str, dt.date]] = {}
        self._by_day: dict[dt.date, list[str]] = {}
        self._pending: list[SettledEvent] = []

    def send_payout(self, request: PayoutRequest) -> RailAck:
        key = request.idempotency_key
        if key not in self._settled:
            failure = REFUSED_CARDS.get(request.card_number[-4:], "")
            status = "failed" if failure else "succeeded"
            day = self._business_date()
            self._settled[key] = (request, status, failure, day)
            self._by_day.setdefault(day, []).append(key)
            self._pending.append(
                SettledEvent(f"evt-{key}", key, status, request.amount, f"SIM-{key}", day, failure)
            )
        return RailAck(True, f"SIM-{key}", "pending")

    def request_debit(self, request: DebitRequest) -> RailAck:
        return RailAck(False, "", "failed", "debits_not_simulated")

    def payout_status(self, idempotency_key: str) -> RailAck:
        found = self._settled.get(idempotency_key)
        if found is None:
            return RailAck(False, "", "unknown", "not_found")
        _, status, failure, day = found
        return RailAck(True, f"SIM-{idempotency_key}", status, failure, day)

    def statement(self, day: dt.date) -> list[RailStatementLine]:
        lines = []
        for key in self._by_day.get(day, []):
            request, status, _, settled_on = self._settled[key]
            lines.append(
                RailStatementLine(f"SIM-{key}", key, "payout", request.amount, status, settled_on)
            )
        return lines

    def drain(self) -> list[SettledEvent]:
        events, self._pending = self._pending, []
        return events
