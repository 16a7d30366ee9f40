"""The borrower's own payments from the app, collected from their card through the
payment rail (代扣) with the auto-debit machinery: nothing is booked until the rail says
the money was taken.

1. ``request_card_payment_in`` runs in the borrower's request transaction, with the loan
   row locked: it refuses an amount above what is owed today (the payoff quote, less
   payments already on their way) and records a ``pending`` debit attempt. No entry.
2. ``submit_debits`` (``autodebit``) sends it with its own idempotency key, right after
   the commit and again on every background pass until the rail answers.
3. The rail's final word (signed webhook, ``apply_debit_event``, or a status poll) is
   applied once: success posts the payment (``post_collection``: the installment due or
   the chosen amount by the waterfall — a chosen amount beyond what is due and the next
   installment is a partial prepayment, or the payoff when it covers the quote —, a
   payoff, a partial prepayment) against the collections in-transit account; failure
   posts nothing and the borrower is told why.

A payoff or a partial prepayment waits for no other payment and lets none start beside
it: each re-writes the schedule from what is owed when it is booked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mobilend.app.lending.repayments import pay_off_loan_in, prepay_loan_in
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.payments import payment_date, take_payment
from mobilend.app.servicing.ports import DebitAttempt
from mobilend.app.servicing.settings import COLLECTIONS_IN_TRANSIT
from mobilend.app.servicing.transfers import suspense_entry
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.loans import ONE_DAY, Loan, LoanStatus
from mobilend.domain.money import Money
from mobilend.domain.prepayment import InsufficientPayoff, PrepaymentMode, payoff_quote, prepay

APP_PURPOSES = ("due", "amount", "payoff", "prepay")


class PaymentInProgress(Conflict):
    code = "payment_in_progress"


class NothingOwed(Conflict):
    code = "nothing_owed"


class AmountAboveOwed(ValidationFailed):
    code = "amount_above_owed"


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def in_flight(uow: UnitOfWork, loan_id: str) -> list[DebitAttempt]:
    """Card debits of the loan sent or about to be sent, not yet answered for good."""
    return [a for a in uow.servicing.debits.for_loan(loan_id) if a.in_flight]


def in_flight_amount(uow: UnitOfWork, loan: Loan) -> Money:
    total = Money.zero(loan.currency)
    for attempt in in_flight(uow, loan.loan_id):
        total = total + attempt.amount
    return total


def owed_today(loan: Loan, on: dt.date) -> Money:
    """What settles the loan today (the payoff quote, held credit counted)."""
    if loan.status is not LoanStatus.ACTIVE:
        return Money.zero(loan.currency)
    return payoff_quote(loan, on).amount_due


def request_card_payment_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    loan: Loan,
    *,
    purpose: str,
    amount: Money | None,
    on: dt.date,
    mode: str = "",
) -> DebitAttempt:
    """Record a card debit for the borrower's payment; ``loan`` must be locked by the
    caller (the quote and the reservation are taken under that lock). ``amount`` is the
    installment due (``due``), the chosen amount, the payoff (None: today's quote) or the
    prepayment."""
    if purpose not in APP_PURPOSES:
        raise ValidationFailed([Problem("kind", f"one of {', '.join(APP_PURPOSES)}")])
    if loan.status is not LoanStatus.ACTIVE:
        raise NothingOwed(_text("该借款无需还款", f"loan {loan.loan_id} is {loan.status}"))
    quote = owed_today(loan, on)
    pending = in_flight(uow, loan.loan_id)
    reserved = sum((a.amount for a in pending), Money.zero(loan.currency))
    if purpose in ("payoff", "prepay") and pending:
        raise PaymentInProgress(
            _text(
                "您有一笔还款正在处理中，请待其完成后再操作",
                "a payment is still being collected; try again once it is done",
            )
        )
    if not quote.is_positive():
        raise NothingOwed(_text("当前无需还款", "nothing is owed on this loan today"))
    room = quote - reserved
    if not room.is_positive():
        raise PaymentInProgress(
            _text(
                "处理中的还款已足以结清，无需再付",
                "payments being collected already cover everything owed",
            )
        )
    if purpose == "payoff":
        amount = _payoff_amount(amount, quote)
    if amount is None:
        raise ValidationFailed([Problem("amount_fen", _text("请填写金额", "amount is required"))])
    if amount > room:
        raise AmountAboveOwed(
            [
                Problem(
                    "amount_fen",
                    _text(
                        f"还款金额超过今日应还总额{room.format()}元",
                        f"the amount is above the {room.format()} owed today",
                    ),
                )
            ]
        )
    if purpose == "prepay":
        _check_prepayment(loan, amount, on, mode)
    attempt_id = new_id()
    attempt = DebitAttempt(
        attempt_id=attempt_id,
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        business_date=on,
        due_date=on,
        plan_day=0,
        amount=amount,
        idempotency_key=f"pay-{attempt_id}",
        purpose=purpose,
        mode=mode if purpose == "prepay" else "",
    )
    uow.servicing.debits.add(attempt)
    return attempt


def _payoff_amount(amount: Money | None, quote: Money) -> Money:
    if amount is None or amount == quote:
        return quote
    if amount < quote:
        raise InsufficientPayoff(
            [
                Problem(
                    "amount_fen",
                    _text(
                        f"提前结清需还{quote.format()}元",
                        f"paying off takes {quote.format()} today",
                    ),
                )
            ]
        )
    raise AmountAboveOwed(
        [
            Problem(
                "amount_fen",
                _text(
                    f"还款金额超过今日应还总额{quote.format()}元",
                    f"the amount is above the {quote.format()} owed today",
                ),
            )
        ]
    )


def _check_prepayment(loan: Loan, amount: Money, on: dt.date, mode: str) -> None:
    """Refuse now what the prepayment would refuse when the money arrives."""
    probe = Loan.from_state(loan.to_state())
    prepay(probe, amount, on, mode or PrepaymentMode.SHORTEN_TERM.value, new_id=lambda: "probe")


# --------------------------------------------------------------------------- posting


def _booking_date(loan: Loan, on: dt.date) -> dt.date:
    """A payoff or prepayment is dated after the loan's last end of day (interest to
    date is counted through the day before)."""
    if loan.accrued_through is not None and on <= loan.accrued_through:
        return loan.accrued_through + ONE_DAY
    return on


def _booked_as(loan: Loan, attempt: DebitAttempt, on: dt.date) -> tuple[str, str]:
    """How a payment is booked: a chosen amount beyond what the waterfall settles today
    (what is due and the next installment) is a payoff when it covers the quote, else a
    partial prepayment that shortens the term — never a credit balance."""
    mode = attempt.mode or PrepaymentMode.SHORTEN_TERM.value
    if attempt.purpose != "amount":
        return attempt.purpose, mode
    day = _booking_date(loan, on)
    settles = sum((item.amount for item in loan.open_items(day)), Money.zero(loan.currency))
    if attempt.amount <= settles - loan.held_credit:
        return "amount", mode
    if attempt.amount >= payoff_quote(loan, day).amount_due:
        return "payoff", mode
    return "prepay", mode


def post_collection(
    desk: ServicingDesk, uow: UnitOfWork, attempt: DebitAttempt, on: dt.date
) -> str | None:
    """Book money the rail took for ``attempt``; returns the repayment id (None: the loan
    was no longer open, so the money waits in suspense for an operator to refund)."""
    loan = uow.lending.loans.get(attempt.loan_id, for_update=True)
    cash = COLLECTIONS_IN_TRANSIT
    channel = "app" if attempt.from_app else "autodebit"
    if loan.status is not LoanStatus.ACTIVE:
        day = payment_date(loan, on)
        uow.lending.ledger.append([suspense_entry(desk.new_id(), day, attempt.amount, cash, True)])
        return None
    purpose, mode = _booked_as(loan, attempt, on)
    if purpose in ("payoff", "prepay"):
        day = _booking_date(loan, on)
        try:
            if purpose == "payoff":
                receipt = pay_off_loan_in(
                    uow, desk.new_id, loan_id=attempt.loan_id, amount=attempt.amount,
                    on=day, idempotency_key=attempt.idempotency_key, channel=channel,
                    cash_account=cash,
                )  # fmt: skip
            else:
                receipt = prepay_loan_in(
                    uow, desk.new_id, loan_id=attempt.loan_id, amount=attempt.amount,
                    on=day, mode=mode,
                    idempotency_key=attempt.idempotency_key, channel=channel,
                    cash_account=cash,
                )  # fmt: skip
            return receipt.record.repayment_id
        except (ValidationFailed, Conflict):
            # The loan moved since the request (a day's more interest, a transfer): the
            # money arrived all the same, so it is taken by the waterfall.
            pass
    record, _ = take_payment(
        uow,
        desk.new_id,
        loan_id=attempt.loan_id,
        amount=attempt.amount,
        on=on,
        channel=channel,
        idempotency_key=attempt.idempotency_key,
        cash_account=cash,
    )
    return record.repayment_id
