"""Helpers of the collections tests (PostgreSQL): loans aged past due with the domain's
own end of day, the collections desk wired by bootstrap with a recording message gateway
and a scripted dialer, agents and agencies."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from tests.integration.servicing_fixtures import (
    DAY,
    FakeClock,
    LoanSpec,
    add_borrower,
    make_runtime,
    open_loan,
)

from mobilend.adapters.vault import FieldVault
from mobilend.app.collections.channels import CallRequest, CallResult
from mobilend.app.collections.ports import AgencyRecord, AgentRecord
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.messaging import DeliveryAck, OutgoingMessage
from mobilend.bootstrap.collections import Collections, build_collections
from mobilend.bootstrap.servicing import ServicingRuntime

START = dt.date(2026, 1, 1)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at_local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """``day`` at ``hour`` in Shanghai, as UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI).astimezone(dt.UTC)


class RecordingGateway:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        with self._lock:
            self.sent.append(message)
        return DeliveryAck(True, f"gw-{message.message_id}")


@dataclass
class ScriptedDialer:
    """Answers with the next scripted status (default: connected)."""

    script: list[str] = field(default_factory=list)
    placed: list[CallRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def place_call(self, request: CallRequest) -> CallResult:
        with self._lock:
            self.placed.append(request)
            status = self.script.pop(0) if self.script else "connected"
        ref = f"rec-{request.call_id}" if status == "connected" else ""
        return CallResult(status, ref, 90 if ref else 0)


@dataclass
class World:
    wired: ServicingRuntime
    collections: Collections
    gateway: RecordingGateway
    dialer: ScriptedDialer
    clock: FakeClock

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.collections.desk


def build_world(
    db: sa.Engine, clock: FakeClock, vault: FieldVault, settings: CollectionsSettings | None = None
) -> World:
    wired = make_runtime(db, clock, vault)
    gateway, dialer = RecordingGateway(), ScriptedDialer()
    collections = build_collections(
        wired.lending, vault=vault, messages=gateway, dialer=dialer, settings=settings
    )
    return World(wired, collections, gateway, dialer, clock)


def age_loan(wired: ServicingRuntime, loan_id: str, on: dt.date) -> None:
    """Run the domain's end of day for the loan through ``on``."""
    with wired.lending.uow_factory() as uow:
        loan = uow.lending.loans.get(loan_id, for_update=True)
        entries = loan.accrue_to(on, wired.lending.new_id)
        uow.lending.loans.save(loan)
        uow.lending.ledger.append(entries, loan.borrower_id)
        uow.commit()


def overdue_loan(
    world: World,
    loan_id: str,
    borrower_id: str,
    dpd: int,
    *,
    phone: str = "13800138000",
    new_borrower: bool = True,
    spec: LoanSpec | None = None,
) -> dt.date:
    """A loan whose first installment (due START + 30) is ``dpd`` days past due; returns
    the business date it was aged to."""
    if new_borrower:
        add_borrower(world.wired.lending.engine, world.wired.vault, borrower_id, phone=phone)  # type: ignore[arg-type]
    open_loan(world.wired, loan_id, borrower_id, START, spec or LoanSpec(periods=12))
    on = START + 30 * DAY + dpd * DAY
    age_loan(world.wired, loan_id, on)
    return on


def add_team(world: World, agents: Iterable[tuple[str, str]], agencies: Iterable[str] = ()) -> None:
    """``agents``: (agent id, team) pairs; ``agencies``: agency codes."""
    with world.desk.uow_factory() as uow:
        for code in agencies:
            uow.collections.agents.add_agency(AgencyRecord(code, f"Agency {code}"))
        for agent_id, team in agents:
            uow.collections.agents.add_agent(AgentRecord(agent_id, f"Agent {agent_id}", team))
        uow.commit()


def set_case(world: World, case_id: str, **changes: object) -> None:
    import dataclasses

    with world.desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        uow.collections.cases.save(dataclasses.replace(case, **changes))  # type: ignore[arg-type]
        uow.commit()


def case_for_loan(world: World, loan_id: str):  # type: ignore[no-untyped-def]
    with world.desk.uow_factory() as uow:
        case = uow.collections.cases.open_for_loan(loan_id)
    assert case is not None, loan_id
    return case
