"""The Loan aggregate: a schedule being serviced.

State machine::

    pending_disbursement ──disburse──► active ──(everything settled)──► closed
            │                            │ └──write_off──► written_off
            └──cancel──► cancelled ◄──cancel (payout failed, nothing paid)

Every command that moves money returns the journal entries to post; the loan
never changes a balance without one, so ``ledger.loan_balances(entries, loan_id)``
always equals ``loan.ledger_balances()``.

Business dates, not the clock: ``accrue_to(d)`` runs end-of-day for every date
after ``accrued_through`` up to ``d`` in order, and is a no-op for a date already
run. End of day ``x`` does, in order: interest accrual (see
``loans_installments``), fees of installments falling due, money held from
earlier overpayments applied to what is due, then one day of penalty on the
principal of installments overdue by more than ``penalty_grace_days``
(days 1..grace after the due date carry no penalty).

Repayments settle what is due on the payment date (and, by default, the next
installment ahead of its date, with interest only to the day of payment on the
principal it brings back early: ``loans_early``) in waterfall order; the rest is held as a credit balance and applied as later installments
fall due. Paying interest or fees before they are recognised recognises them
first (an accrual or fee entry), so receivables never go negative. Early
payoff and partial prepayment live in ``prepayment``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from mobilend.domain.allocation import Allocation, Component, OpenItem, allocate_payment
from mobilend.domain.delinquency import DEFAULT_BUCKETS, Bucket, BucketTable
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.ledger import (
    DEFAULT_CASH_ACCOUNT,
    Account,
    ComponentAmounts,
    JournalEntry,
    accrual_entry,
    cancellation_entry,
    credit_application_entry,
    disbursement_entry,
    fee_entry,
    penalty_accrual_entry,
    recovery_entry,
    refund_entry,
    repayment_entry,
    write_off_entry,
)
from mobilend.domain.loans_early import open_items_of, recognition_entries, repay_ahead
from mobilend.domain.loans_fees import has_third_party_fees as fees_for_others
from mobilend.domain.loans_fees import payable_change, third_party_fees
from mobilend.domain.loans_installments import InstallmentKind, InstallmentState, InstallmentStatus
from mobilend.domain.loans_rules import (
    ONE_DAY,
    BackdatedOperation,
    IdFactory,
    LoanNotActive,
    LoanStatus,
    RepaymentResult,
    ServicingRules,
)
from mobilend.domain.loans_state import loan_fields_from_state, loan_ledger_balances, loan_to_state
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.schedules import Schedule
from mobilend.domain.terms import LoanTerms

__all__ = [
    "ONE_DAY", "BackdatedOperation", "IdFactory", "InstallmentKind", "InstallmentState",
    "InstallmentStatus", "Loan", "LoanNotActive", "LoanStatus", "RepaymentResult",
    "ServicingRules",
]  # fmt: skip

_T = TypeVar("_T")


@dataclass(slots=True)
class Loan:
    loan_id: str
    borrower_id: str
    terms: LoanTerms
    installments: list[InstallmentState]
    rules: ServicingRules = field(default_factory=ServicingRules)
    status: LoanStatus = LoanStatus.PENDING_DISBURSEMENT
    line_id: str | None = None
    product_code: str = ""
    funding_account: str = DEFAULT_CASH_ACCOUNT
    disbursed_on: dt.date | None = None
    accrued_through: dt.date | None = None
    dpd: int = 0
    max_dpd: int = 0
    credit_balance: Money | None = None
    cash_received: Money | None = None
    cash_refunded: Money | None = None
    written_off: ComponentAmounts | None = None
    recovered: Money | None = None
    closed_on: dt.date | None = None
    entry_seq: int = 0

    def __post_init__(self) -> None:
        zero = Money.zero(self.currency)
        for name in ("credit_balance", "cash_received", "cash_refunded", "recovered"):
            if getattr(self, name) is None:
                setattr(self, name, zero)
        self.status = LoanStatus(self.status)

    # -- construction -----------------------------------------------------------
    @classmethod
    def create(
        cls,
        loan_id: str,
        borrower_id: str,
        schedule: Schedule,
        rules: ServicingRules | LoanProduct | None = None,
        *,
        line_id: str | None = None,
        product_code: str = "",
        funding_account: str = DEFAULT_CASH_ACCOUNT,
    ) -> Loan:
        """A loan awaiting disbursement, built from its schedule (upfront fees as installment 0)."""
        if isinstance(rules, LoanProduct):
            product_code = product_code or rules.code
            rules = ServicingRules.from_product(rules)
        installments: list[InstallmentState] = []
        zero = Money.zero(schedule.currency)
        if schedule.upfront_fee_total.is_positive():
            start = schedule.start_date
            installments.append(
                InstallmentState(
                    0,
                    start,
                    start,
                    zero,
                    zero,
                    schedule.upfront_fee_total,
                    InstallmentKind.UPFRONT_FEE,
                )
            )
        for inst in schedule.installments:
            installments.append(
                InstallmentState(
                    inst.n,
                    inst.period_start,
                    inst.due_date,
                    inst.principal,
                    inst.interest,
                    inst.fees,
                )
            )
        return cls(
            loan_id=loan_id,
            borrower_id=borrower_id,
            terms=schedule.terms,
            installments=installments,
            rules=rules or ServicingRules(),
            line_id=line_id,
            product_code=product_code,
            funding_account=funding_account,
        )

    # -- typed views of the always-filled optional fields -------------------------
    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def principal(self) -> Money:
        """Contract principal, which is also the amount disbursed (no deduction)."""
        return self.terms.principal

    @property
    def held_credit(self) -> Money:
        assert self.credit_balance is not None
        return self.credit_balance

    def _zero(self) -> Money:
        return Money.zero(self.currency)

    def _sum(self, values: Iterable[Money]) -> Money:
        result = self._zero()
        for v in values:
            result = result + v
        return result

    # -- balances -------------------------------------------------------------------
    @property
    def outstanding_principal(self) -> Money:
        return self._sum(i.unpaid.principal for i in self.installments)

    @property
    def principal_repaid(self) -> Money:
        return self._sum(i.paid.principal for i in self.installments)

    @property
    def receivables(self) -> ComponentAmounts:
        """Recognised and unpaid, per component (what the ledger's receivables hold)."""
        result = ComponentAmounts.zero(self.currency)
        for inst in self.installments:
            result = result + inst.receivable
        return result

    def accrued_interest_not_due(self, on: dt.date | None = None) -> Money:
        """Interest recognised but not yet due (installments falling due after ``on``)."""
        day = on or self._as_of()
        return self._sum(i.receivable.interest for i in self.installments if i.due_date > day)

    def overdue_amounts(self, on: dt.date | None = None) -> ComponentAmounts:
        day = on or self._as_of()
        result = ComponentAmounts.zero(self.currency)
        for inst in self.installments:
            if inst.due_date < day:
                result = result + inst.unpaid
        return result

    def days_past_due(self, on: dt.date | None = None) -> int:
        """Days since the due date of the oldest installment still unpaid at the end of ``on``."""
        day = on or self._as_of()
        return max((i.days_past_due(day) for i in self.installments), default=0)

    def bucket(self, table: BucketTable = DEFAULT_BUCKETS, on: dt.date | None = None) -> Bucket:
        return table.bucket_for(self.days_past_due(on))

    def installment_statuses(self, on: dt.date | None = None) -> dict[int, InstallmentStatus]:
        day = on or self._as_of()
        return {i.n: i.status_on(day) for i in self.installments}

    def installment(self, n: int) -> InstallmentState:
        for inst in self.installments:
            if inst.n == n:
                return inst
        raise KeyError(n)

    def _as_of(self) -> dt.date:
        if self.accrued_through is not None:
            return self.accrued_through
        return self.terms.start_date

    def ledger_balances(self) -> dict[Account, Money]:
        """This loan's balances per chart account, in the ledger's sign (debit +, credit −).

        Cash sums every cash sub-account. Comparing this with
        ``ledger.loan_balances(entries, loan_id)`` checks the ledger against the loan.
        """
        return loan_ledger_balances(self)

    # -- helpers shared with prepayment ------------------------------------------------
    def _atomically(self, command: Callable[[], _T]) -> _T:
        """Run ``command``; if it raises, put every field back as it was."""
        snapshot = self.to_state()
        try:
            return command()
        except Exception:
            restored = Loan.from_state(snapshot)
            for name in Loan.__dataclass_fields__:
                setattr(self, name, getattr(restored, name))
            raise

    def _id_source(self, new_id: IdFactory | None) -> IdFactory:
        if new_id is not None:
            return new_id

        def next_id() -> str:
            self.entry_seq += 1
            return f"{self.loan_id}-{self.entry_seq:06d}"

        return next_id

    def _require_status(self, *allowed: LoanStatus) -> None:
        if self.status not in allowed:
            raise LoanNotActive(f"loan {self.loan_id} is {self.status}")

    def _require_not_before_eod(self, on: dt.date) -> None:
        if self.accrued_through is not None and on < self.accrued_through:
            raise BackdatedOperation(
                f"loan {self.loan_id} has run end of day through {self.accrued_through}; "
                f"an operation dated {on} would rewrite it"
            )

    def _check_amount(self, amount: Money) -> None:
        if amount.currency != self.currency or not amount.is_positive() or not amount.is_whole():
            raise ValidationFailed(
                [Problem("amount", f"must be a positive {self.currency} amount exact to the fen")]
            )

    def open_items(self, on: dt.date, *, include_next: bool | None = None) -> list[OpenItem]:
        """What a payment on ``on`` may settle: every installment due by then, and the next one
        ahead of its date when the rules allow it (``loans_early``)."""
        ahead = self.rules.pay_next_installment_early if include_next is None else include_next
        return open_items_of(self.installments, self.terms, on, ahead)

    def third_party_fees(self) -> dict[str, Money]:
        """Recognised fees owed to third parties, by payee (``loans_fees``)."""
        return third_party_fees(self.terms, self.installments)

    def _apply_allocation(
        self, allocation: Allocation, on: dt.date
    ) -> tuple[Money, Money, dict[str, Money]]:
        """Mark the allocated amounts paid; return (interest, fees, the fees' third-party
        parts) recognised early to allow it."""
        owed_before = self.third_party_fees()
        early_interest = self._zero()
        early_fees = self._zero()
        for line in allocation.lines:
            inst = self.installment(line.installment)
            paid = inst.paid
            if line.component is Component.PRINCIPAL:
                inst.principal_paid = paid.principal + line.amount
            elif line.component is Component.INTEREST:
                inst.interest_paid = paid.interest + line.amount
                if inst.interest_paid > inst.accrued:
                    early_interest = early_interest + (inst.interest_paid - inst.accrued)
                    inst.interest_accrued = inst.interest_paid
            elif line.component is Component.FEES:
                inst.fees_paid = paid.fees + line.amount
                if inst.fees_paid > inst.charged:
                    early_fees = early_fees + (inst.fees_paid - inst.charged)
                    inst.fees_charged = inst.fees_paid
            else:
                inst.penalty_paid = paid.penalty + line.amount
        for inst in self.installments:
            if inst.settled_on is None and inst.is_settled:
                inst.settled_on = on
        return early_interest, early_fees, payable_change(owed_before, self.third_party_fees())

    def _close_if_settled(self, on: dt.date) -> bool:
        if self.status is LoanStatus.ACTIVE and all(i.is_settled for i in self.installments):
            self.status = LoanStatus.CLOSED
            self.closed_on = on
            return True
        return False

    def _recognition_entries(
        self,
        ids: IdFactory,
        on: dt.date,
        interest: Money,
        fees: Money,
        payable: dict[str, Money] | None = None,
    ) -> list[JournalEntry]:
        return recognition_entries(self.loan_id, ids, on, interest, fees, payable)

    # -- commands ----------------------------------------------------------------------
    def disburse(self, on: dt.date, new_id: IdFactory | None = None) -> list[JournalEntry]:
        """Pay out the full contract principal; upfront fees become receivable the same day."""
        self._require_status(LoanStatus.PENDING_DISBURSEMENT)
        if on != self.terms.start_date:
            raise Conflict(
                f"loan {self.loan_id} was scheduled from {self.terms.start_date}; "
                f"disbursing on {on} needs a new schedule"
            )
        ids = self._id_source(new_id)
        entries = [
            disbursement_entry(ids(), on, self.loan_id, self.principal, self.funding_account)
        ]
        upfront = self._sum(
            i.fees_due for i in self.installments if i.kind is InstallmentKind.UPFRONT_FEE
        )
        if upfront.is_positive():
            for inst in self.installments:
                if inst.kind is InstallmentKind.UPFRONT_FEE:
                    inst.fees_charged = inst.fees_due
            payable = self.third_party_fees()
            entries.append(fee_entry(ids(), on, self.loan_id, upfront, "upfront fees", payable))
        self.status = LoanStatus.ACTIVE
        self.disbursed_on = on
        self.accrued_through = on - ONE_DAY
        return entries

    def cancel(self, on: dt.date, new_id: IdFactory | None = None) -> list[JournalEntry]:
        """Cancel before disbursement (no entry), or undo a payout that failed (nothing paid yet).

        The caller gives the principal back to the credit line.
        """
        if self.status is LoanStatus.PENDING_DISBURSEMENT:
            self.status = LoanStatus.CANCELLED
            self.closed_on = on
            return []
        self._require_status(LoanStatus.ACTIVE)
        assert self.cash_received is not None
        if self.cash_received.is_positive() or self.held_credit.is_positive():
            raise Conflict(f"loan {self.loan_id} has received payments; it cannot be cancelled")
        recognised = ComponentAmounts(
            principal=self.principal,
            interest=self._sum(i.accrued for i in self.installments),
            fees=self._sum(i.charged for i in self.installments),
            penalty=self._sum(i.penalty for i in self.installments),
        )
        ids = self._id_source(new_id)
        entry = cancellation_entry(
            ids(), on, self.loan_id, self.principal, recognised, self.funding_account,
            payable=self.third_party_fees(),
        )  # fmt: skip
        self.status = LoanStatus.CANCELLED
        self.closed_on = on
        return [entry]

    def accrue_to(
        self,
        business_date: dt.date,
        new_id: IdFactory | None = None,
        penalty_rate_on: Callable[[dt.date], Decimal] | None = None,
    ) -> list[JournalEntry]:
        """Run end of day for every date after ``accrued_through`` up to ``business_date``.

        Idempotent: a date already run returns no entries; inactive loans return none.
        ``penalty_rate_on``: each day's penalty rate (default: the contract's)."""
        if self.status is not LoanStatus.ACTIVE or self.accrued_through is None:
            return []
        if business_date <= self.accrued_through:
            return []
        ids = self._id_source(new_id)
        entries: list[JournalEntry] = []
        day = self.accrued_through + ONE_DAY
        while day <= business_date and self.status is LoanStatus.ACTIVE:
            rate = self.rules.penalty_rate if penalty_rate_on is None else penalty_rate_on(day)
            entries.extend(self._end_of_day(day, ids, rate))
            day += ONE_DAY
        self.accrued_through = business_date
        self.dpd = self.days_past_due(business_date)
        self.max_dpd = max(self.max_dpd, self.dpd)
        return entries

    def _end_of_day(self, day: dt.date, ids: IdFactory, rate: Decimal) -> list[JournalEntry]:
        terms = self.terms
        entries: list[JournalEntry] = []
        interest = self._zero()
        fees = self._zero()
        owed_before = self.third_party_fees() if fees_for_others(terms) else {}
        for inst in self.installments:
            if inst.accrued < inst.interest_scheduled and inst.period_start <= day:
                target = inst.interest_target(day, terms.day_count, terms.rounding)
                if target > inst.accrued:
                    interest = interest + (target - inst.accrued)
                    inst.interest_accrued = target
            if inst.due_date <= day and inst.charged < inst.fees_due:
                fees = fees + (inst.fees_due - inst.charged)
                inst.fees_charged = inst.fees_due
        if interest.is_positive():
            entries.append(accrual_entry(ids(), day, self.loan_id, interest))
        if fees.is_positive():
            payable = payable_change(owed_before, self.third_party_fees())
            entries.append(
                fee_entry(ids(), day, self.loan_id, fees, "installment fees due", payable)
            )
        if self.held_credit.is_positive():
            entries.extend(self._apply_credit(day, ids))
        penalty = self._zero()
        grace = self.rules.penalty_grace_days
        for inst in self.installments:
            if inst.due_date < day and (day - inst.due_date).days > grace:
                penalty = penalty + inst.add_penalty_day(rate, terms.day_count, terms.rounding)
        if penalty.is_positive():
            entries.append(penalty_accrual_entry(ids(), day, self.loan_id, penalty))
        self._close_if_settled(day)
        return entries

    def _apply_credit(self, day: dt.date, ids: IdFactory) -> list[JournalEntry]:
        """Settle what is due from money held for the borrower."""
        allocation = allocate_payment(
            self.open_items(day, include_next=False), self.held_credit, self.rules.waterfall
        )
        if not allocation.lines:
            return []
        early_interest, early_fees, payable = self._apply_allocation(allocation, day)
        entries = self._recognition_entries(ids, day, early_interest, early_fees, payable)
        entries.append(
            credit_application_entry(ids(), day, self.loan_id, allocation.by_component())
        )
        self.credit_balance = allocation.leftover
        return entries

    def repay(
        self,
        amount: Money,
        on: dt.date,
        *,
        cash_account: str = DEFAULT_CASH_ACCOUNT,
        party: str | None = None,
        new_id: IdFactory | None = None,
    ) -> RepaymentResult:
        """Take a payment received on ``on`` (catching end of day up to the day before first).

        On any refusal the loan is left exactly as it was.
        """
        return self._atomically(lambda: self._repay(amount, on, cash_account, party, new_id))

    def _repay(
        self,
        amount: Money,
        on: dt.date,
        cash_account: str,
        party: str | None,
        new_id: IdFactory | None,
    ) -> RepaymentResult:
        self._require_status(LoanStatus.ACTIVE)
        self._check_amount(amount)
        self._require_not_before_eod(on)
        ids = self._id_source(new_id)
        principal_before = self.principal_repaid
        entries = self.accrue_to(on - ONE_DAY, ids)
        items = self.open_items(on) if self.status is LoanStatus.ACTIVE else []
        allocation = allocate_payment(items, amount, self.rules.waterfall)
        for line in allocation.lines:  # principal back early: rest of its period re-based
            inst = self.installment(line.installment)
            if line.component is Component.PRINCIPAL and inst.due_date > on:
                repay_ahead(self.installments, inst, self.terms, on, line.amount)
        early_interest, early_fees, payable = self._apply_allocation(allocation, on)
        entries.extend(self._recognition_entries(ids, on, early_interest, early_fees, payable))
        entries.append(
            repayment_entry(
                ids(),
                on,
                self.loan_id,
                allocation.by_component(),
                allocation.leftover,
                cash_account,
                party,
            )
        )
        assert self.cash_received is not None
        self.cash_received = self.cash_received + amount
        self.credit_balance = self.held_credit + allocation.leftover
        closed = self._close_if_settled(on)
        return RepaymentResult(
            entries=tuple(entries),
            allocation=allocation,
            principal_repaid=self.principal_repaid - principal_before,
            overpayment=allocation.leftover,
            closed=closed,
        )

    def refund_credit(
        self,
        on: dt.date,
        *,
        amount: Money | None = None,
        cash_account: str = DEFAULT_CASH_ACCOUNT,
        party: str | None = None,
        new_id: IdFactory | None = None,
    ) -> JournalEntry:
        """Pay held overpayment back to the borrower (all of it unless ``amount`` is given)."""
        refund = amount if amount is not None else self.held_credit
        self._check_amount(refund)
        if refund > self.held_credit:
            raise Conflict(f"loan {self.loan_id} holds only {self.held_credit} for the borrower")
        entry = refund_entry(
            self._id_source(new_id)(), on, self.loan_id, refund, cash_account, party
        )
        assert self.cash_refunded is not None
        self.credit_balance = self.held_credit - refund
        self.cash_refunded = self.cash_refunded + refund
        return entry

    def write_off(self, on: dt.date, new_id: IdFactory | None = None) -> JournalEntry:
        """Move every recognised receivable to write-off expense; the loan stops accruing."""
        self._require_status(LoanStatus.ACTIVE)
        self._require_not_before_eod(on)
        outstanding = self.receivables
        if not outstanding.total.is_positive():
            raise Conflict(f"loan {self.loan_id} has nothing outstanding to write off")
        entry = write_off_entry(self._id_source(new_id)(), on, self.loan_id, outstanding)
        self.written_off = outstanding
        self.status = LoanStatus.WRITTEN_OFF
        self.closed_on = on
        return entry

    def recover(
        self,
        amount: Money,
        on: dt.date,
        *,
        cash_account: str = DEFAULT_CASH_ACCOUNT,
        party: str | None = None,
        new_id: IdFactory | None = None,
    ) -> JournalEntry:
        """Money collected after write-off: Dr cash / Cr recovery income."""
        self._require_status(LoanStatus.WRITTEN_OFF)
        self._check_amount(amount)
        entry = recovery_entry(
            self._id_source(new_id)(), on, self.loan_id, amount, cash_account, party
        )
        assert self.recovered is not None
        self.recovered = self.recovered + amount
        return entry

    # -- persistence --------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Plain values (ints in fen, ISO dates, strings) a repository can store as columns/JSON."""
        return loan_to_state(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Loan:
        return cls(**loan_fields_from_state(state))
