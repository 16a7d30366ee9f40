"""The servicing desk: everything the servicing use cases need, wired once by bootstrap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from mobilend.app.funding.ports import PayoutAccounts
from mobilend.app.ports import Clock, MessageGateway, PaymentRail
from mobilend.app.servicing.ports import ContactDirectory, DebitStatusSource, ReceiptSource
from mobilend.app.servicing.settings import ServicingSettings
from mobilend.app.unit_of_work import UnitOfWorkFactory


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

    def now(self) -> dt.datetime:
        return self.clock.now()
