"""The borrower's side of a simulated journey, two ways: ``InProcessJourneys`` calls the
journey's use cases directly; ``sim.http_journey.HttpJourneys`` goes through the borrower
API over real HTTP. ``Arrivals._journey`` keeps everything else (who takes an offer, how
much, the loan's payment calendar), so both paths draw the same random numbers in the
same order. A refusal is a ``DomainError`` with its machine code either way."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Protocol

from mobilend.app.funding.disbursement import apply_rail_event
from mobilend.app.funding.worker import run_cycle
from mobilend.domain.decisions import DecisionOutcome
from mobilend.domain.money import Money
from mobilend.sim.applicants import Person
from mobilend.sim.world import World, onboard

PRODUCT = "cash"


def device_of(person: Person) -> str:
    return f"dev-{person.index}"


def address_of(person: Person) -> str:
    """The applicant's own client address (the fraud rules count by address)."""
    return f"10.8.{person.index // 250 % 250}.{person.index % 250 + 1}"


@dataclass(frozen=True, slots=True)
class Decided:
    outcome: DecisionOutcome
    line_id: str | None
    limit: Money | None
    price_band: str | None
    #: The decision's wall-clock latency: the use case call, or the API round trip.
    ms: float


@dataclass(frozen=True, slots=True)
class Drafted:
    contract_id: str
    sha256: str
    apr: str


@dataclass(frozen=True, slots=True)
class Signed:
    loan_id: str
    funders: tuple[tuple[str, Money], ...]
    installments: tuple[tuple[int, dt.date], ...]  # (n, due date)


class Journeys(Protocol):
    def register(self, person: Person) -> str:
        """Sign-in, identity and consents; returns the borrower id."""
        ...

    def apply(self, person: Person, borrower_id: str) -> Decided: ...

    def draft(
        self, person: Person, borrower_id: str, line_id: str, amount: Money, periods: int
    ) -> Drafted: ...

    def sign(self, person: Person, borrower_id: str, draft: Drafted) -> Signed: ...

    def pay_out(self) -> dict[str, bool]:
        """The disbursement worker's pass and the rail's webhooks; loan id → paid."""
        ...

    def close(self) -> dict[str, list[float]]:
        """Stop whatever runs; returns latency samples (ms) by name for the report."""
        ...


class InProcessJourneys:
    """The journey's use cases called directly, as the API's routes call them."""

    def __init__(self, world: World) -> None:
        self.world = world

    def register(self, person: Person) -> str:
        onboard(self.world, person, self.world.clock.now())
        return person.borrower_id

    def apply(self, person: Person, borrower_id: str) -> Decided:
        journey = self.world.platform.journey
        started = time.perf_counter()
        application, outbox = journey.apply_for_line(
            borrower_id, product_code=PRODUCT,
            monthly_income=Money.from_minor(person.monthly_income_fen),
            device_id=device_of(person), ip_address=address_of(person),
        )  # fmt: skip
        ms = (time.perf_counter() - started) * 1000
        journey.dispatch(outbox)
        return Decided(
            application.outcome, application.line_id, application.limit,
            application.price_band, ms,
        )  # fmt: skip

    def draft(
        self, person: Person, borrower_id: str, line_id: str, amount: Money, periods: int
    ) -> Drafted:
        contract = self.world.platform.journey.draft_contract(
            borrower_id, line_id=line_id, amount=amount, periods=periods
        )
        return Drafted(contract.contract_id, contract.sha256, str(contract.terms.apr))

    def sign(self, person: Person, borrower_id: str, draft: Drafted) -> Signed:
        signed = self.world.platform.journey.sign_contract(
            borrower_id, draft.contract_id, sha256=draft.sha256,
            idempotency_key=f"sign-{borrower_id}", render=lambda s: {"ok": True},
            device_id=device_of(person),
        )  # fmt: skip
        assert signed.result is not None
        loan = signed.result.loan.loan
        return Signed(
            loan.loan_id,
            signed.result.disbursement.funders,
            tuple((i.n, i.due_date) for i in loan.installments),
        )

    def pay_out(self) -> dict[str, bool]:
        """A pass of the disbursement worker, then the rail's webhooks delivered to the
        use case behind the callback route."""
        desk = self.world.platform.disbursement
        run_cycle(desk)
        outcomes = {}
        for event in self.world.rail.drain():
            outcome = apply_rail_event(desk, event)
            outcomes[event.idempotency_key.removeprefix("payout-")] = outcome == "paid"
        return outcomes

    def close(self) -> dict[str, list[float]]:
        return {}
