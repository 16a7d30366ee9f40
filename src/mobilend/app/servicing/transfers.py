"""Incoming bank transfers (对公转账还款), matched to loans by the repayment reference the
app shows each borrower (``HK`` + the loan number) in the transfer's remark.

A matched transfer is a repayment of that loan (partial payments settle the oldest items,
overpayment is held as credit). Money that matches no open loan — no reference, a wrong
one, a closed loan — is booked to the suspense account (Dr bank cash / Cr suspense) and
listed for operators, who assign it to a loan later (Dr suspense / Cr bank cash, then the
repayment, in one transaction). The bank's transaction id makes every step idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.payments import take_payment
from mobilend.app.servicing.ports import IncomingTransfer
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from mobilend.domain.ledger import Account, EntryKind, JournalEntry, Posting
from mobilend.domain.loans import Loan, LoanStatus
from mobilend.domain.money import Money

REFERENCE_PREFIX = "HK"
_REFERENCE = re.compile(REFERENCE_PREFIX + r"([0-9A-Z]{4,40})")


def repayment_reference(loan_id: str) -> str:
    """What the borrower writes in the transfer's remark for this loan."""
    return REFERENCE_PREFIX + loan_id.upper()


def loan_ids_in(remark: str) -> list[str]:
    """Loan ids a remark may name (spaces, dashes and case forgiven), in order."""
    packed = re.sub(r"[^0-9A-Za-z]", "", remark).upper()
    return [match.lower() for match in _REFERENCE.findall(packed)]


@dataclass(frozen=True, slots=True)
class TransferNotice:
    """A credit on the collection account, as the bank reports it."""

    bank_transaction_id: str
    amount: Money
    received_on: dt.date
    remark: str = ""
    payer_name: str = ""


def _mask(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 0) if name else ""


def suspense_entry(
    entry_id: str, on: dt.date, amount: Money, cash_account: str, into: bool
) -> JournalEntry:
    sign = 1 if into else -1
    return JournalEntry(
        entry_id,
        EntryKind.ADJUSTMENT,
        on,
        (
            Posting(cash_account, amount * sign),
            Posting(Account.SUSPENSE.value, amount * -sign),
        ),
        None,
        None,
        "unmatched transfer held in suspense" if into else "suspense assigned to a loan",
    )


def _find_loan(uow: UnitOfWork, remark: str) -> Loan | None:
    for loan_id in loan_ids_in(remark):
        try:
            loan = uow.lending.loans.get(loan_id)
        except NotFound:
            continue
        if loan.status in (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF):
            return loan
    return None


def receive_transfer(desk: ServicingDesk, notice: TransferNotice) -> IncomingTransfer:
    """Book one incoming transfer: a repayment when its remark names an open loan, else
    suspense. Receiving the same bank transaction again returns the first booking."""
    if not notice.amount.is_positive() or not notice.amount.is_whole():
        raise ValidationFailed(
            [
                Problem(
                    "amount", "金额须大于零且精确到分 (must be a positive amount exact to the fen)"
                )
            ]
        )
    cash = desk.settings.transfer_cash_account
    with desk.uow_factory() as uow:
        seen = uow.servicing.transfers.by_bank_id(notice.bank_transaction_id)
        if seen is not None:
            return seen
        transfer = IncomingTransfer(
            transfer_id=desk.new_id(),
            bank_transaction_id=notice.bank_transaction_id,
            reference=notice.remark[:200],
            payer_masked=_mask(notice.payer_name),
            amount=notice.amount,
            received_on=notice.received_on,
            status="suspense",
        )
        loan = _find_loan(uow, notice.remark)
        if loan is not None and loan.status is LoanStatus.WRITTEN_OFF:
            locked = uow.lending.loans.get(loan.loan_id, for_update=True)
            entry = locked.recover(
                notice.amount, notice.received_on, cash_account=cash, new_id=desk.new_id
            )
            uow.lending.loans.save(locked)
            uow.lending.ledger.append([entry], locked.borrower_id)
            transfer = dataclasses.replace(
                transfer, status="matched", loan_id=locked.loan_id, borrower_id=locked.borrower_id
            )
        elif loan is not None:
            record, _ = take_payment(
                uow,
                desk.new_id,
                loan_id=loan.loan_id,
                amount=notice.amount,
                on=notice.received_on,
                channel="bank_transfer",
                idempotency_key=f"transfer-{notice.bank_transaction_id}",
                cash_account=cash,
            )
            transfer = dataclasses.replace(
                transfer,
                status="matched",
                loan_id=loan.loan_id,
                borrower_id=loan.borrower_id,
                repayment_id=record.repayment_id,
            )
        else:
            entry = suspense_entry(desk.new_id(), notice.received_on, notice.amount, cash, True)
            uow.lending.ledger.append([entry])
            transfer = dataclasses.replace(transfer, suspense_entry_id=entry.entry_id)
        uow.servicing.transfers.add(transfer)
        uow.commit()
        return transfer


def suspense_items(desk: ServicingDesk, limit: int = 100) -> list[IncomingTransfer]:
    """Unmatched transfers waiting for an operator, oldest first."""
    with desk.uow_factory() as uow:
        return uow.servicing.transfers.in_suspense(limit)


def assign_transfer(
    desk: ServicingDesk, transfer_id: str, *, loan_id: str, operator: str, on: dt.date
) -> IncomingTransfer:
    """An operator assigns money held in suspense to a loan: it leaves suspense and is
    taken as a repayment of that loan, in one transaction."""
    cash = desk.settings.transfer_cash_account
    with desk.uow_factory() as uow:
        transfer = uow.servicing.transfers.get(transfer_id, for_update=True)
        if transfer is None:
            raise NotFound(f"transfer {transfer_id} not found")
        if transfer.status != "suspense":
            raise Conflict(f"transfer {transfer_id} is {transfer.status}, not in suspense")
        release = suspense_entry(desk.new_id(), on, transfer.amount, cash, False)
        record, _ = take_payment(
            uow,
            desk.new_id,
            loan_id=loan_id,
            amount=transfer.amount,
            on=on,
            channel="bank_transfer",
            idempotency_key=f"transfer-{transfer.bank_transaction_id}",
            cash_account=cash,
            extra_entries=[release],
        )
        assigned = dataclasses.replace(
            transfer,
            status="assigned",
            loan_id=loan_id,
            borrower_id=record.borrower_id,
            repayment_id=record.repayment_id,
            assigned_by=operator,
            assigned_at=desk.now(),
        )
        uow.servicing.transfers.save(assigned)
        uow.audit.record(
            operator,
            "suspense.assigned",
            f"transfer:{transfer_id}",
            {
                "loan_id": loan_id,
                "amount_fen": transfer.amount.round().to_minor(),
                "repayment_id": record.repayment_id,
            },
        )
        uow.commit()
        return assigned
