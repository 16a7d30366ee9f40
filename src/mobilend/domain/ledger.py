"""Double-entry ledger: accounts, postings, balanced journal entries.

Sign convention: a posting's amount is **signed — debit positive, credit
negative**. An entry is balanced when its postings sum to zero. Asset and expense
accounts (cash, receivables, write-off expense) carry debit (positive) balances;
liability and income accounts (income, funder payable, suspense, borrower credit
balance, recovery income) carry credit (negative) balances.

Account keys are strings: the chart's base account, optionally followed by
``:``-separated sub-keys naming a funder or a rail account, e.g.
``cash:own_pool``, ``cash:rail:clearing``, ``funder_payable:bank_a``.

An entry is built balanced or not at all, and is never changed afterwards:
a correction is a reversing entry (``entry.reversal(...)``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mobilend.domain.errors import DomainError
from mobilend.domain.money import Money


class Account(enum.StrEnum):
    """The chart of accounts (one set per currency)."""

    CASH = "cash"
    LOAN_PRINCIPAL_RECEIVABLE = "loan_principal_receivable"
    INTEREST_RECEIVABLE = "interest_receivable"
    PENALTY_RECEIVABLE = "penalty_receivable"
    FEE_RECEIVABLE = "fee_receivable"
    INTEREST_INCOME = "interest_income"
    FEE_INCOME = "fee_income"
    PENALTY_INCOME = "penalty_income"
    FUNDER_PAYABLE = "funder_payable"
    #: Fees the lender collects for someone else (an insurer…), owed to them.
    THIRD_PARTY_PAYABLE = "third_party_payable"
    SUSPENSE = "suspense"
    BORROWER_CREDIT_BALANCE = "borrower_credit_balance"
    WRITE_OFF_EXPENSE = "write_off_expense"
    RECOVERY_INCOME = "recovery_income"

    @property
    def normal_side(self) -> str:
        """``debit`` for assets and expenses, ``credit`` for liabilities and income."""
        return "debit" if self in _DEBIT_NORMAL else "credit"


_DEBIT_NORMAL = frozenset(
    {
        Account.CASH,
        Account.LOAN_PRINCIPAL_RECEIVABLE,
        Account.INTEREST_RECEIVABLE,
        Account.PENALTY_RECEIVABLE,
        Account.FEE_RECEIVABLE,
        Account.WRITE_OFF_EXPENSE,
    }
)

#: Cash account used when a caller names none: the platform's own funding pool.
DEFAULT_CASH_ACCOUNT = "cash:own_pool"


class EntryKind(enum.StrEnum):
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"
    ACCRUAL = "accrual"
    PENALTY_ACCRUAL = "penalty_accrual"
    FEE = "fee"
    CREDIT_APPLICATION = "credit_application"  # overpayment held, applied to a later bill
    REFUND = "refund"
    REVERSAL = "reversal"
    WRITE_OFF = "write_off"
    RECOVERY = "recovery"
    CANCELLATION = "cancellation"
    ADJUSTMENT = "adjustment"
    #: A partner funder's share of a collection, owed to it (between the lender and its
    #: funders: no part of the loan's own balances).
    FUNDER_SHARE = "funder_share"


class LedgerError(DomainError):
    code = "ledger_invalid"


class UnbalancedEntry(LedgerError):
    """The postings do not form a valid double entry (too few, mixed, or not summing to zero)."""

    code = "ledger_unbalanced"


def account_key(account: Account, *sub_keys: str) -> str:
    """``account_key(Account.CASH, "rail", "clearing") == "cash:rail:clearing"``."""
    for sub in sub_keys:
        if not sub or ":" in sub:
            raise LedgerError(f"invalid account sub-key {sub!r}")
    return ":".join([account.value, *sub_keys])


def base_account(key: str) -> Account:
    """The chart account a key belongs to; refuses keys outside the chart."""
    head = key.split(":", 1)[0]
    try:
        return Account(head)
    except ValueError:
        raise LedgerError(f"unknown account {key!r}") from None


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry. ``amount`` is signed: debit positive, credit negative."""

    account: str
    amount: Money
    loan_id: str | None = None
    party: str | None = None

    def __post_init__(self) -> None:
        base_account(self.account)
        if any(not part for part in self.account.split(":")):
            raise LedgerError(f"invalid account key {self.account!r}")
        if not self.amount.is_whole():
            raise LedgerError(
                f"posting to {self.account} is not exact to the minor unit: {self.amount}"
            )
        if self.amount.is_zero():
            raise LedgerError(f"posting to {self.account} has a zero amount")

    @property
    def is_debit(self) -> bool:
        return self.amount.is_positive()

    @property
    def base(self) -> Account:
        return base_account(self.account)


def debit(
    account: str, amount: Money, loan_id: str | None = None, party: str | None = None
) -> Posting:
    """A debit posting of a positive ``amount``."""
    if not amount.is_positive():
        raise LedgerError("debit amounts are given as positive money")
    return Posting(account, amount, loan_id, party)


def credit(
    account: str, amount: Money, loan_id: str | None = None, party: str | None = None
) -> Posting:
    """A credit posting of a positive ``amount`` (stored negative)."""
    if not amount.is_positive():
        raise LedgerError("credit amounts are given as positive money")
    return Posting(account, -amount, loan_id, party)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced set of postings recording one business event.

    Construction refuses fewer than two postings, mixed currencies and postings
    that do not sum to zero (``UnbalancedEntry``).
    """

    entry_id: str
    kind: EntryKind
    business_date: dt.date
    postings: tuple[Posting, ...]
    loan_id: str | None = None
    reverses: str | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        if not self.entry_id:
            raise LedgerError("entry_id is required")
        object.__setattr__(self, "postings", tuple(self.postings))
        object.__setattr__(self, "kind", EntryKind(self.kind))
        if len(self.postings) < 2:
            raise UnbalancedEntry(f"entry {self.entry_id} needs at least two postings")
        currencies = {p.amount.currency for p in self.postings}
        if len(currencies) != 1:
            raise UnbalancedEntry(f"entry {self.entry_id} mixes currencies {sorted(currencies)}")
        total_minor = sum(p.amount.to_minor() for p in self.postings)
        if total_minor != 0:
            raise UnbalancedEntry(
                f"entry {self.entry_id} does not balance: postings sum to "
                f"{Money.from_minor(total_minor, self.currency)}"
            )

    @property
    def currency(self) -> str:
        return self.postings[0].amount.currency

    @property
    def total_debits(self) -> Money:
        result = Money.zero(self.currency)
        for p in self.postings:
            if p.is_debit:
                result = result + p.amount
        return result

    def reversal(self, new_id: str, business_date: dt.date, memo: str = "") -> JournalEntry:
        """The entry that undoes this one: same postings with opposite signs."""
        return JournalEntry(
            entry_id=new_id,
            kind=EntryKind.REVERSAL,
            business_date=business_date,
            postings=tuple(
                Posting(p.account, -p.amount, p.loan_id, p.party) for p in self.postings
            ),
            loan_id=self.loan_id,
            reverses=self.entry_id,
            memo=memo or f"reversal of {self.entry_id}",
        )


BalanceKey = tuple[str, str | None]


def balances(entries: Iterable[JournalEntry]) -> dict[BalanceKey, Money]:
    """Fold entries into signed balances per (account key, loan id).

    Accounts whose balance folds to zero are left out, so two ledgers with the same
    effect compare equal.
    """
    sums: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for entry in entries:
        for p in entry.postings:
            sums[(p.account, p.loan_id, p.amount.currency)] += p.amount.to_minor()
    result: dict[BalanceKey, Money] = {}
    for (account, loan_id, currency), minor in sums.items():
        if minor == 0:
            continue
        key = (account, loan_id)
        if key in result:
            raise LedgerError(f"account {account} holds several currencies; fold per currency")
        result[key] = Money.from_minor(minor, currency)
    return result


def loan_balances(entries: Iterable[JournalEntry], loan_id: str) -> dict[Account, Money]:
    """Balances of one loan's accounts by chart account (sub-keys summed).

    Receivables come out positive (debit), income and liabilities negative (credit).
    """
    result: dict[Account, Money] = {}
    for (account, posting_loan), amount in balances(entries).items():
        if posting_loan != loan_id:
            continue
        base = base_account(account)
        result[base] = result[base] + amount if base in result else amount
    return {k: v for k, v in result.items() if not v.is_zero()}


# --------------------------------------------------------------------------- entry builders


@dataclass(frozen=True, slots=True)
class ComponentAmounts:
    """Money split by receivable component; zero components are simply omitted from entries."""

    principal: Money
    interest: Money
    fees: Money
    penalty: Money

    @classmethod
    def zero(cls, currency: str) -> ComponentAmounts:
        z = Money.zero(currency)
        return cls(z, z, z, z)

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.fees + self.penalty

    def __add__(self, other: ComponentAmounts) -> ComponentAmounts:
        return ComponentAmounts(
            self.principal + other.principal,
            self.interest + other.interest,
            self.fees + other.fees,
            self.penalty + other.penalty,
        )

    def as_receivables(self) -> Mapping[Account, Money]:
        return {
            Account.PENALTY_RECEIVABLE: self.penalty,
            Account.FEE_RECEIVABLE: self.fees,
            Account.INTEREST_RECEIVABLE: self.interest,
            Account.LOAN_PRINCIPAL_RECEIVABLE: self.principal,
        }


@dataclass(slots=True)
class _EntryBuilder:
    """Collects debits and credits, merging lines on the same account."""

    loan_id: str | None
    party: str | None
    lines: dict[str, Money] = field(default_factory=dict)

    def add(self, account: str, signed: Money) -> None:
        if signed.is_zero():
            return
        self.lines[account] = self.lines[account] + signed if account in self.lines else signed

    def postings(self) -> tuple[Posting, ...]:
        return tuple(
            Posting(account, amount, self.loan_id, self.party)
            for account, amount in self.lines.items()
            if not amount.is_zero()
        )


def _entry(
    entry_id: str,
    kind: EntryKind,
    business_date: dt.date,
    loan_id: str | None,
    builder: _EntryBuilder,
    memo: str,
) -> JournalEntry:
    return JournalEntry(entry_id, kind, business_date, builder.postings(), loan_id, None, memo)


def disbursement_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    principal: Money,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    memo: str = "",
) -> JournalEntry:
    """Dr loan principal receivable / Cr cash: the full contract principal is paid out."""
    b = _EntryBuilder(loan_id, party)
    b.add(Account.LOAN_PRINCIPAL_RECEIVABLE.value, principal)
    b.add(cash_account, -principal)
    return _entry(
        entry_id, EntryKind.DISBURSEMENT, business_date, loan_id, b, memo or "disbursement"
    )


def repayment_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    paid: ComponentAmounts,
    overpayment: Money | None = None,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    memo: str = "",
    credit_used: Money | None = None,
) -> JournalEntry:
    """Dr cash (all received) / Cr each receivable paid, Cr borrower credit balance for any excess.

    ``credit_used`` is money already held for the borrower (an earlier overpayment)
    that settles part of the bill: Dr borrower credit balance. Cash received is
    ``paid.total + overpayment - credit_used``.
    """
    zero = Money.zero(paid.principal.currency)
    extra = overpayment if overpayment is not None else zero
    held = credit_used if credit_used is not None else zero
    received = paid.total + extra - held
    if received.is_negative():
        raise LedgerError("credit used exceeds what the repayment settles")
    b = _EntryBuilder(loan_id, party)
    b.add(cash_account, received)
    for account, amount in paid.as_receivables().items():
        b.add(account.value, -amount)
    b.add(Account.BORROWER_CREDIT_BALANCE.value, held - extra)
    return _entry(entry_id, EntryKind.REPAYMENT, business_date, loan_id, b, memo or "repayment")


def credit_application_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    applied: ComponentAmounts,
    party: str | None = None,
    memo: str = "",
) -> JournalEntry:
    """Dr borrower credit balance / Cr receivables: money held from an overpayment settles a bill."""
    b = _EntryBuilder(loan_id, party)
    b.add(Account.BORROWER_CREDIT_BALANCE.value, applied.total)
    for account, amount in applied.as_receivables().items():
        b.add(account.value, -amount)
    return _entry(
        entry_id,
        EntryKind.CREDIT_APPLICATION,
        business_date,
        loan_id,
        b,
        memo or "credit balance applied",
    )


def accrual_entry(
    entry_id: str, business_date: dt.date, loan_id: str, interest: Money, memo: str = ""
) -> JournalEntry:
    """Dr interest receivable / Cr interest income."""
    b = _EntryBuilder(loan_id, None)
    b.add(Account.INTEREST_RECEIVABLE.value, interest)
    b.add(Account.INTEREST_INCOME.value, -interest)
    return _entry(
        entry_id, EntryKind.ACCRUAL, business_date, loan_id, b, memo or "interest accrual"
    )


def penalty_accrual_entry(
    entry_id: str, business_date: dt.date, loan_id: str, penalty: Money, memo: str = ""
) -> JournalEntry:
    """Dr penalty receivable / Cr penalty income."""
    b = _EntryBuilder(loan_id, None)
    b.add(Account.PENALTY_RECEIVABLE.value, penalty)
    b.add(Account.PENALTY_INCOME.value, -penalty)
    return _entry(
        entry_id, EntryKind.PENALTY_ACCRUAL, business_date, loan_id, b, memo or "penalty accrual"
    )


def fee_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    fee: Money,
    memo: str = "",
    payable: Mapping[str, Money] | None = None,
) -> JournalEntry:
    """Dr fee receivable / Cr fee income: a fee falls due. The parts owed to third parties
    (``payable``, by payee) are credited to ``third_party_payable:<payee>`` instead."""
    b = _EntryBuilder(loan_id, None)
    b.add(Account.FEE_RECEIVABLE.value, fee)
    income = fee
    for payee, amount in (payable or {}).items():
        b.add(account_key(Account.THIRD_PARTY_PAYABLE, payee), -amount)
        income = income - amount
    b.add(Account.FEE_INCOME.value, -income)
    return _entry(entry_id, EntryKind.FEE, business_date, loan_id, b, memo or "fee charged")


def refund_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    amount: Money,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    memo: str = "",
) -> JournalEntry:
    """Dr borrower credit balance / Cr cash: an overpayment paid back to the borrower."""
    b = _EntryBuilder(loan_id, party)
    b.add(Account.BORROWER_CREDIT_BALANCE.value, amount)
    b.add(cash_account, -amount)
    return _entry(
        entry_id, EntryKind.REFUND, business_date, loan_id, b, memo or "credit balance refunded"
    )


def cancellation_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    principal: Money,
    recognised: ComponentAmounts,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    memo: str = "",
    payable: Mapping[str, Money] | None = None,
) -> JournalEntry:
    """Undo a disbursement that never reached the borrower.

    Dr cash / Cr principal receivable for the principal paid out, and every
    interest, fee and penalty recognised since is taken back out of income
    (Dr income / Cr receivable). ``recognised.principal`` is ignored.
    """
    b = _EntryBuilder(loan_id, None)
    b.add(cash_account, principal)
    b.add(Account.LOAN_PRINCIPAL_RECEIVABLE.value, -principal)
    for income, receivable, amount in (
        (Account.INTEREST_INCOME, Account.INTEREST_RECEIVABLE, recognised.interest),
        (Account.FEE_INCOME, Account.FEE_RECEIVABLE, recognised.fees),
        (Account.PENALTY_INCOME, Account.PENALTY_RECEIVABLE, recognised.penalty),
    ):
        b.add(income.value, amount)
        b.add(receivable.value, -amount)
    for payee, owed in (payable or {}).items():  # fees recognised for third parties
        b.add(account_key(Account.THIRD_PARTY_PAYABLE, payee), owed)
        b.add(Account.FEE_INCOME.value, -owed)
    return _entry(
        entry_id,
        EntryKind.CANCELLATION,
        business_date,
        loan_id,
        b,
        memo or "disbursement cancelled",
    )


def write_off_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    outstanding: ComponentAmounts,
    memo: str = "",
) -> JournalEntry:
    """Dr write-off expense / Cr every receivable still open."""
    b = _EntryBuilder(loan_id, None)
    b.add(Account.WRITE_OFF_EXPENSE.value, outstanding.total)
    for account, amount in outstanding.as_receivables().items():
        b.add(account.value, -amount)
    return _entry(entry_id, EntryKind.WRITE_OFF, business_date, loan_id, b, memo or "write-off")


def recovery_entry(
    entry_id: str,
    business_date: dt.date,
    loan_id: str,
    amount: Money,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    memo: str = "",
) -> JournalEntry:
    """Dr cash / Cr recovery income: money collected on a written-off loan."""
    b = _EntryBuilder(loan_id, party)
    b.add(cash_account, amount)
    b.add(Account.RECOVERY_INCOME.value, -amount)
    return _entry(entry_id, EntryKind.RECOVERY, business_date, loan_id, b, memo or "recovery")
