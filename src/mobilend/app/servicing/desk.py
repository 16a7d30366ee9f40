"""The servicing desk: everything the servicing use cases need, wired once by bootstrap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from mobilend.app.funding.ports import PayoutAccounts
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.messaging import MessageGateway
from mobilend.app.ports import Clock, PaymentRail
from mobilend.app.servicing.ports import (
    ContactDirectory,
    DebitAttempt,
    DebitStatusSource,
    ReceiptSource,
)
from mobilend.app.servicing.settings import ServicingSettings
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory

#: Told of each of the borrower's own card payments that became final (with its receipt
#: when the money was booked), inside the transaction that made it so.
CollectionListener = Callable[[UnitOfWork, DebitAttempt, RepaymentRecord | None], None]


@dataclass
class ServicingDesk:
    uow_factory: UnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    settings: ServicingSettings = field(default_factory=ServicingSettings)
    #: SMS and app push; None: messages stay queued.
    messages: MessageGateway | None = None
    contacts: ContactDirectory | None = None
    receipts: ReceiptSource | None = None
    #: Debits and refund payouts; None: attempts stay planned.
    rail: PaymentRail | None = None
    debit_status: DebitStatusSource | None = None
    #: The borrowers' verified cards (the same ones payouts go to).
    debit_accounts: PayoutAccounts | None = None
    on_collection: CollectionListener | None = None

    def now(self) -> dt.datetime:
        return self.clock.now()

    def announce(
        self, uow: UnitOfWork, attempt: DebitAttempt, record: RepaymentRecord | None
    ) -> None:
        if self.on_collection is not None:
            self.on_collection(uow, attempt, record)
