"""Money the rail collected, into the lender's bank: the second leg of a card debit.

A debit the rail confirms is booked against the collections in-transit account
(``settings.COLLECTIONS_IN_TRANSIT``), as a payout is booked against the payouts
in-transit account until the rail confirms it. The rail pays what it collected into the
lender's bank later; its daily statement says which debits that covered, and
``settle_collections`` moves each one, once, from in transit to the bank account (Dr
bank / Cr in transit). Until then the money has not settled: nothing held from it is
refunded (``payments.refund_credit``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.ports import DebitAttempt
from mobilend.app.servicing.settings import COLLECTIONS_BANK, COLLECTIONS_IN_TRANSIT
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.ledger import EntryKind, JournalEntry, Posting

log = logging.getLogger(__name__)


def unsettled_debits(uow: UnitOfWork, loan_id: str) -> list[DebitAttempt]:
    """Debits of the loan being collected, or collected and not yet in the bank."""
    return [
        a
        for a in uow.servicing.debits.for_loan(loan_id)
        if a.in_flight or (a.status == "succeeded" and a.bank_settled_on is None)
    ]


def settlement_entry(entry_id: str, attempt: DebitAttempt, day: dt.date) -> JournalEntry:
    loan_id = attempt.loan_id if attempt.repayment_id is not None else None
    return JournalEntry(
        entry_id,
        EntryKind.ADJUSTMENT,
        day,
        (
            Posting(COLLECTIONS_BANK, attempt.amount, loan_id),
            Posting(COLLECTIONS_IN_TRANSIT, -attempt.amount, loan_id),
        ),
        loan_id,
        None,
        f"collection settled by rail {attempt.rail_reference}".strip(),
    )


def settle_collections(desk: ServicingDesk, day: dt.date) -> int:
    """Move the debits the rail's statement of ``day`` settled from in transit to the
    bank; returns how many moved (a second run for the same day moves none)."""
    if desk.rail is None:
        return 0
    lines = [
        line
        for line in desk.rail.statement(day)
        if line.direction == "debit" and line.status == "succeeded"
    ]
    moved = 0
    for line in lines:
        with desk.uow_factory() as uow:
            attempt = uow.servicing.debits.get(line.idempotency_key, for_update=True)
            if attempt is None or attempt.status != "succeeded" or attempt.bank_settled_on:
                continue
            if line.amount != attempt.amount:
                log.warning("debit %s: the statement shows another amount", attempt.attempt_id)
                continue
            borrower = attempt.borrower_id if attempt.repayment_id is not None else None
            uow.lending.ledger.append([settlement_entry(desk.new_id(), attempt, day)], borrower)
            uow.servicing.debits.save(dataclasses.replace(attempt, bank_settled_on=day))
            uow.commit()
            moved += 1
    return moved
