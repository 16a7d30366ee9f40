"""Money in and money back: taking a payment that arrived by auto-debit or bank transfer,
and paying held overpayment back to the borrower.

A payment is taken inside the caller's unit of work (so matching a transfer and posting
the repayment are one transaction) with the domain's waterfall: partial payments settle
the oldest items first, anything beyond what is owed is kept as the borrower's credit
balance and settles later installments at end of day, or is refunded.

A payment reported after end of day has run past its date is applied on the loan's
current business date: the ledger is never rewritten backwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from mobilend.app.audit import money_details, repayment_details
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.lending.repayments import allocation_to_state
from mobilend.app.ports import PayoutRequest, RailAck
from mobilend.app.servicing.collection_settlement import unsettled_debits
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.ports import RefundRecord
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.business_day import business_date
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.ledger import DEFAULT_CASH_ACCOUNT, JournalEntry
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money

log = logging.getLogger(__name__)

#: Marks repayments taken by ``take_payment`` (plain waterfall payments that may bounce).
REPAY_METHOD = "repay"


def payment_date(loan: Loan, on: dt.date) -> dt.date:
    """``on``, or the loan's last end-of-day date when that has already run past it."""
    if loan.accrued_through is not None and on < loan.accrued_through:
        return loan.accrued_through
    return on


def take_payment(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    *,
    loan_id: str,
    amount: Money,
    on: dt.date,
    channel: str,
    idempotency_key: str,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    extra_entries: Sequence[JournalEntry] = (),
) -> tuple[RepaymentRecord, bool]:
    """Apply ``amount`` to the loan by its waterfall; (record, replayed). Does not commit."""
    previous = uow.lending.repayments.by_idempotency_key(idempotency_key)
    if previous is not None:
        if previous.loan_id != loan_id or previous.amount != amount:
            raise Conflict("this idempotency key was already used for a different payment")
        return previous, True
    loan = uow.lending.loans.get(loan_id, for_update=True)
    day = payment_date(loan, on)
    result = loan.repay(amount, day, cash_account=cash_account, new_id=new_id)
    if loan.line_id is not None and result.principal_repaid.is_positive():
        line = uow.lending.lines.get(loan.line_id, for_update=True)
        line.restore(result.principal_repaid)
        uow.lending.lines.save(line)
    allocation = allocation_to_state(result.allocation, result.overpayment)
    allocation["method"] = REPAY_METHOD
    record = RepaymentRecord(
        repayment_id=new_id(),
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        amount=amount,
        received_on=day,
        channel=channel,
        idempotency_key=idempotency_key,
        allocation=allocation,
    )
    uow.lending.loans.save(loan)
    uow.lending.ledger.append([*extra_entries, *result.entries], loan.borrower_id)
    uow.lending.repayments.add(record)
    uow.audit.record(
        f"system:{channel}",
        "repayment.received",
        f"loan:{loan.loan_id}",
        repayment_details(record, [e.entry_id for e in [*extra_entries, *result.entries]]),
    )
    return record, False


# --------------------------------------------------------------------------- refunds


class RefundNotReady(Conflict):
    code = "refund_not_ready"


def collections_unsettled(uow: UnitOfWork, loan_id: str) -> bool:
    """Whether money the rail took for this loan has not reached the lender's bank yet
    (a debit still being collected, or collected and not yet settled)."""
    return bool(unsettled_debits(uow, loan_id))


def refund_credit_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    loan_id: str,
    *,
    on: dt.date,
    cash_account: str,
    amount: Money | None = None,
) -> RefundRecord:
    """The refund's core once a second person approved it (the console's maker-checker
    request carries it out): settled money only; the ledger moves (Dr borrower credit
    balance / Cr refunds cash) and the refund waits to be sent."""
    loan = uow.lending.loans.get(loan_id, for_update=True)
    if not loan.held_credit.is_positive():
        raise Conflict(f"loan {loan_id} holds no money for the borrower")
    if collections_unsettled(uow, loan_id):
        raise RefundNotReady(
            "还款资金尚未到账，暂不能退款 (money collected for this loan has not settled yet)"
        )
    entry = loan.refund_credit(on, amount=amount, cash_account=cash_account, new_id=new_id)
    refund_id = new_id()
    record = RefundRecord(
        refund_id=refund_id,
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        amount=entry.total_debits,
        business_date=on,
        entry_id=entry.entry_id,
        idempotency_key=f"refund-{refund_id}",
    )
    uow.lending.loans.save(loan)
    uow.lending.ledger.append([entry], loan.borrower_id)
    uow.servicing.refunds.add(record)
    _record_refund(uow, "system:refunds", "refund.booked", record)
    return record


def _record_refund(uow: UnitOfWork, actor: str, action: str, record: RefundRecord) -> None:
    uow.audit.record(
        actor,
        action,
        f"refund:{record.refund_id}",
        {"loan_id": record.loan_id, "entries": [record.entry_id], **money_details(record.amount)},
    )


def refund_credit(
    desk: ServicingDesk,
    loan_id: str,
    *,
    on: dt.date,
    amount: Money | None = None,
    send: bool = True,
) -> RefundRecord:
    """Pay money held for the borrower back to their card (all of it unless ``amount``).

    Only money that has settled is paid back: while a debit of the loan is being
    collected, or collected and not yet paid into the lender's bank, the refund waits
    (``RefundNotReady``). A refund above ``refund_approval_above_fen`` is recorded
    ``awaiting_approval`` and moves no money until an operator approves it
    (``approve_refund``). Otherwise the ledger moves at once (Dr borrower credit balance /
    Cr refunds cash); the payout leaves through the rail after the commit and is retried
    by ``send_refunds``; a payout the rail refuses for good gives the money back to the
    loan's credit balance.
    """
    with desk.uow_factory() as uow:
        loan = uow.lending.loans.get(loan_id, for_update=True)
        if not loan.held_credit.is_positive():
            raise Conflict(f"loan {loan_id} holds no money for the borrower")
        if collections_unsettled(uow, loan_id):
            raise RefundNotReady(
                "还款资金尚未到账，暂不能退款 (money collected for this loan has not settled yet)"
            )
        refund_id = desk.new_id()
        value = amount if amount is not None else loan.held_credit
        record = RefundRecord(
            refund_id=refund_id,
            loan_id=loan.loan_id,
            borrower_id=loan.borrower_id,
            amount=value,
            business_date=on,
            entry_id="",
            idempotency_key=f"refund-{refund_id}",
        )
        if value.to_minor() > desk.settings.refund_approval_above_fen:
            if value > loan.held_credit:
                raise Conflict(f"loan {loan_id} holds only {loan.held_credit} for the borrower")
            record = dataclasses.replace(record, status="awaiting_approval")
            uow.servicing.refunds.add(record)
            uow.commit()
            return record
        record = _book_refund(desk, uow, loan, record, on)
        uow.servicing.refunds.add(record)
        _record_refund(uow, "system:refunds", "refund.booked", record)
        uow.commit()
    if send:
        send_refunds(desk, [record.refund_id])
    with desk.uow_factory() as uow:
        return uow.servicing.refunds.get(record.refund_id) or record


def _book_refund(
    desk: ServicingDesk, uow: UnitOfWork, loan: Loan, record: RefundRecord, on: dt.date
) -> RefundRecord:
    entry = loan.refund_credit(
        on, amount=record.amount, cash_account=desk.settings.refund_cash_account,
        new_id=desk.new_id,
    )  # fmt: skip
    uow.lending.loans.save(loan)
    uow.lending.ledger.append([entry], loan.borrower_id)
    return dataclasses.replace(record, entry_id=entry.entry_id, status="pending")


def approve_refund(
    desk: ServicingDesk, refund_id: str, *, operator: str, on: dt.date, send: bool = True
) -> RefundRecord:
    """An operator approves a refund waiting for approval: the ledger moves and the payout
    is queued, as for a refund under the threshold."""
    if not operator:
        raise Conflict("an approval names the operator")
    with desk.uow_factory() as uow:
        refund = uow.servicing.refunds.get(refund_id, for_update=True)
        if refund is None:
            raise NotFound(f"refund {refund_id} not found")
        if refund.status != "awaiting_approval":
            raise Conflict(f"refund {refund_id} is {refund.status}, not awaiting approval")
        loan = uow.lending.loans.get(refund.loan_id, for_update=True)
        if collections_unsettled(uow, loan.loan_id):
            raise RefundNotReady(
                "还款资金尚未到账，暂不能退款 (money collected for this loan has not settled yet)"
            )
        booked = dataclasses.replace(
            _book_refund(desk, uow, loan, refund, on), approved_by=operator
        )
        uow.servicing.refunds.save(booked)
        _record_refund(uow, operator, "refund.approved", booked)
        uow.commit()
    if send:
        send_refunds(desk, [refund_id])
    with desk.uow_factory() as uow:
        return uow.servicing.refunds.get(refund_id) or booked


def refund_closed_loans(
    desk: ServicingDesk, on: dt.date, limit: int = 1000, *, send: bool = True
) -> int:
    """Refund what closed loans still hold for their borrowers; returns how many."""
    with desk.uow_factory() as uow:
        loan_ids = uow.servicing.refunds.closed_loans_holding_credit(limit)
    for loan_id in loan_ids:
        try:
            refund_credit(desk, loan_id, on=on, send=send)
        except Conflict:
            continue  # refunded meanwhile, or its money has not settled yet
    return len(loan_ids)


def send_refunds(desk: ServicingDesk, refund_ids: Sequence[str] | None = None) -> int:
    """Send pending refund payouts (the listed ones, or every pending one); returns how
    many were handed to the rail or resolved."""
    if desk.rail is None or desk.debit_accounts is None:
        return 0
    if refund_ids is None:
        with desk.uow_factory() as uow:
            refund_ids = [r.refund_id for r in uow.servicing.refunds.pending()]
    done = 0
    for refund_id in refund_ids:
        with desk.uow_factory() as uow:
            refund = uow.servicing.refunds.get(refund_id, for_update=True)
            if refund is None or refund.status != "pending":
                continue
            try:
                account = desk.debit_accounts.for_borrower(refund.borrower_id)
                ack = desk.rail.send_payout(
                    PayoutRequest(
                        refund.idempotency_key,
                        refund.loan_id,
                        refund.amount,
                        account.account_name,
                        account.card_number,
                        account.bank_code,
                    )
                )
            except NotFound:
                ack = RailAck(accepted=False, status="failed", failure_code="no_card")
            except Exception as exc:  # unreachable rail: stays pending for the next pass
                log.warning("refund %s not sent: %s", refund_id, type(exc).__name__)
                uow.servicing.refunds.save(
                    dataclasses.replace(refund, attempts=refund.attempts + 1)
                )
                uow.commit()
                continue
            _apply_refund_ack(desk, uow, refund, ack, attempts=refund.attempts + 1)
            uow.commit()
            done += 1
    return done


def poll_refunds(desk: ServicingDesk, limit: int = 100) -> int:
    """Ask the rail about refunds it accepted but has not confirmed; returns how many
    reached a final status."""
    if desk.rail is None:
        return 0
    with desk.uow_factory() as uow:
        sent = [r.refund_id for r in uow.servicing.refunds.pending(limit, status="sent")]
    resolved = 0
    for refund_id in sent:
        with desk.uow_factory() as uow:
            refund = uow.servicing.refunds.get(refund_id, for_update=True)
            if refund is None or refund.status != "sent":
                continue
            try:
                ack = desk.rail.payout_status(refund.idempotency_key)
            except Exception as exc:
                log.warning("refund %s status unknown: %s", refund_id, type(exc).__name__)
                continue
            if ack.status in ("succeeded", "failed"):
                _apply_refund_ack(desk, uow, refund, ack, attempts=refund.attempts)
                uow.commit()
                resolved += 1
    return resolved


def _apply_refund_ack(
    desk: ServicingDesk,
    uow: UnitOfWork,
    refund: RefundRecord,
    ack: RailAck,
    *,
    attempts: int,
) -> None:
    """A refused payout gives the money back to the loan's credit balance (reversing the
    refund entry); the refund stays ``failed`` for an operator, and closed loans with a
    failed refund are not refunded again automatically."""
    stores = uow.servicing
    if ack.status == "failed" or not ack.accepted:
        loan = uow.lending.loans.get(refund.loan_id, for_update=True)
        original = next(
            e
            for e in uow.lending.ledger.entries_for_loan(refund.loan_id)
            if e.entry_id == refund.entry_id
        )
        assert loan.cash_refunded is not None
        loan.credit_balance = loan.held_credit + refund.amount
        loan.cash_refunded = loan.cash_refunded - refund.amount
        uow.lending.loans.save(loan)
        on = payment_date(loan, business_date(desk.now()))
        uow.lending.ledger.append(
            [original.reversal(desk.new_id(), on, "refund payout failed")], loan.borrower_id
        )
        stores.refunds.save(
            dataclasses.replace(
                refund, status="failed", attempts=attempts, failure_code=ack.failure_code
            )
        )
        return
    status = "paid" if ack.status == "succeeded" else "sent"
    stores.refunds.save(
        dataclasses.replace(
            refund, status=status, attempts=attempts, rail_reference=ack.rail_reference
        )
    )
