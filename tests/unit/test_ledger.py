"""Ledger: postings, balanced entries, reversals, the balance fold, entry builders."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.ledger import (
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    LedgerError,
    Posting,
    UnbalancedEntry,
    account_key,
    accrual_entry,
    balances,
    base_account,
    cancellation_entry,
    credit,
    debit,
    disbursement_entry,
    fee_entry,
    loan_balances,
    penalty_accrual_entry,
    recovery_entry,
    refund_entry,
    repayment_entry,
    write_off_entry,
)
from mobilend.domain.money import Money

DAY = dt.date(2024, 3, 1)
CASH = "cash:own_pool"


def m(value: str, currency: str = "CNY") -> Money:
    return Money(value, currency)


def entry_sum(entry: JournalEntry) -> int:
    return sum(p.amount.to_minor() for p in entry.postings)


# --------------------------------------------------------------------------- accounts


def test_account_keys_carry_sub_keys_and_resolve_to_the_chart() -> None:
    assert account_key(Account.CASH, "rail", "clearing") == "cash:rail:clearing"
    assert base_account("cash:rail:clearing") is Account.CASH
    assert base_account("funder_payable:bank_a") is Account.FUNDER_PAYABLE
    with pytest.raises(LedgerError):
        base_account("petty_cash")
    with pytest.raises(LedgerError):
        account_key(Account.CASH, "a:b")


def test_normal_sides_follow_the_chart() -> None:
    assert Account.CASH.normal_side == "debit"
    assert Account.LOAN_PRINCIPAL_RECEIVABLE.normal_side == "debit"
    assert Account.WRITE_OFF_EXPENSE.normal_side == "debit"
    assert Account.INTEREST_INCOME.normal_side == "credit"
    assert Account.BORROWER_CREDIT_BALANCE.normal_side == "credit"
    assert Account.SUSPENSE.normal_side == "credit"


def test_postings_are_signed_debit_positive_credit_negative() -> None:
    assert debit(CASH, m("5")).amount == m("5")
    assert credit(CASH, m("5")).amount == m("-5")
    with pytest.raises(LedgerError):
        debit(CASH, m("-5"))
    with pytest.raises(LedgerError):
        credit(CASH, m("0"))


@pytest.mark.parametrize(
    ("account", "amount"),
    [("cash:own_pool", "0.001"), ("cash:own_pool", "0"), ("petty_cash", "1"), ("cash::x", "1")],
)
def test_a_posting_must_be_exact_to_the_fen_non_zero_and_in_the_chart(
    account: str, amount: str
) -> None:
    with pytest.raises(LedgerError):
        Posting(account, m(amount))


# --------------------------------------------------------------------------- entries


def test_a_balanced_entry_builds() -> None:
    entry = JournalEntry(
        "e1",
        EntryKind.DISBURSEMENT,
        DAY,
        (debit("loan_principal_receivable", m("100")), credit(CASH, m("100"))),
        loan_id="L1",
    )
    assert entry_sum(entry) == 0
    assert entry.total_debits == m("100")
    assert entry.currency == "CNY"


def test_an_entry_needs_two_postings() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("e1", EntryKind.ADJUSTMENT, DAY, (debit(CASH, m("1")),))


def test_an_entry_refuses_a_non_zero_sum() -> None:
    with pytest.raises(UnbalancedEntry) as caught:
        JournalEntry(
            "e1", EntryKind.ADJUSTMENT, DAY, (debit(CASH, m("1.00")), credit("suspense", m("0.99")))
        )
    assert caught.value.code == "ledger_unbalanced"


def test_an_entry_refuses_mixed_currencies() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry(
            "e1",
            EntryKind.ADJUSTMENT,
            DAY,
            (debit(CASH, m("1", "CNY")), credit(CASH, m("1", "USD"))),
        )


def test_reversal_undoes_the_entry() -> None:
    original = accrual_entry("e1", DAY, "L1", m("3.21"))
    reversal = original.reversal("e2", DAY + dt.timedelta(days=1))
    assert reversal.kind is EntryKind.REVERSAL
    assert reversal.reverses == "e1"
    assert reversal.loan_id == "L1"
    assert entry_sum(reversal) == 0
    assert balances([original]) != {}
    assert balances([original, reversal]) == {}


# --------------------------------------------------------------------------- builders


def test_disbursement_debits_principal_and_credits_cash() -> None:
    entry = disbursement_entry("e1", DAY, "L1", m("1000"), CASH)
    assert entry.kind is EntryKind.DISBURSEMENT
    assert balances([entry]) == {
        ("loan_principal_receivable", "L1"): m("1000"),
        (CASH, "L1"): m("-1000"),
    }


def test_repayment_credits_each_component_and_holds_the_excess() -> None:
    paid = ComponentAmounts(principal=m("80"), interest=m("15"), fees=m("3"), penalty=m("2"))
    entry = repayment_entry(
        "e1", DAY, "L1", paid, overpayment=m("7"), cash_account="cash:rail:clearing"
    )
    assert balances([entry]) == {
        ("cash:rail:clearing", "L1"): m("107"),
        ("loan_principal_receivable", "L1"): m("-80"),
        ("interest_receivable", "L1"): m("-15"),
        ("fee_receivable", "L1"): m("-3"),
        ("penalty_receivable", "L1"): m("-2"),
        ("borrower_credit_balance", "L1"): m("-7"),
    }


def test_repayment_can_use_money_already_held() -> None:
    paid = ComponentAmounts(principal=m("80"), interest=m("20"), fees=m("0"), penalty=m("0"))
    entry = repayment_entry("e1", DAY, "L1", paid, cash_account=CASH, credit_used=m("30"))
    assert balances([entry]) == {
        (CASH, "L1"): m("70"),
        ("borrower_credit_balance", "L1"): m("30"),
        ("loan_principal_receivable", "L1"): m("-80"),
        ("interest_receivable", "L1"): m("-20"),
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            accrual_entry("e", DAY, "L1", m("1.50")),
            {"interest_receivable": m("1.50"), "interest_income": m("-1.50")},
        ),
        (
            penalty_accrual_entry("e", DAY, "L1", m("0.56")),
            {"penalty_receivable": m("0.56"), "penalty_income": m("-0.56")},
        ),
        (fee_entry("e", DAY, "L1", m("5")), {"fee_receivable": m("5"), "fee_income": m("-5")}),
        (
            refund_entry("e", DAY, "L1", m("9"), CASH),
            {"borrower_credit_balance": m("9"), CASH: m("-9")},
        ),
        (
            recovery_entry("e", DAY, "L1", m("40"), CASH),
            {CASH: m("40"), "recovery_income": m("-40")},
        ),
        (
            write_off_entry("e", DAY, "L1", ComponentAmounts(m("500"), m("12"), m("0"), m("3"))),
            {
                "write_off_expense": m("515"),
                "loan_principal_receivable": m("-500"),
                "interest_receivable": m("-12"),
                "penalty_receivable": m("-3"),
            },
        ),
        (
            cancellation_entry(
                "e", DAY, "L1", m("1000"), ComponentAmounts(m("0"), m("4.5"), m("10"), m("0")), CASH
            ),
            {
                CASH: m("1000"),
                "loan_principal_receivable": m("-1000"),
                "interest_income": m("4.5"),
                "interest_receivable": m("-4.5"),
                "fee_income": m("10"),
                "fee_receivable": m("-10"),
            },
        ),
    ],
)
def test_standard_entries_post_the_expected_accounts(
    entry: JournalEntry, expected: dict[str, Money]
) -> None:
    assert entry_sum(entry) == 0
    assert balances([entry]) == {(account, "L1"): amount for account, amount in expected.items()}


def test_loan_balances_sum_sub_accounts_per_chart_account() -> None:
    entries = [
        disbursement_entry("e1", DAY, "L1", m("1000"), "cash:own_pool"),
        repayment_entry(
            "e2",
            DAY,
            "L1",
            ComponentAmounts(m("100"), m("0"), m("0"), m("0")),
            cash_account="cash:rail:clearing",
        ),
        disbursement_entry("e3", DAY, "L2", m("50"), "cash:own_pool"),
    ]
    assert loan_balances(entries, "L1") == {
        Account.CASH: m("-900"),
        Account.LOAN_PRINCIPAL_RECEIVABLE: m("900"),
    }


def test_balances_refuse_one_account_in_two_currencies() -> None:
    entries = [
        disbursement_entry("e1", DAY, "L1", m("1", "CNY"), CASH),
        disbursement_entry("e2", DAY, "L1", m("1", "USD"), CASH),
    ]
    with pytest.raises(LedgerError):
        balances(entries)


# --------------------------------------------------------------------------- properties

ACCOUNTS = [a.value for a in Account] + [
    "cash:own_pool",
    "cash:rail:clearing",
    "funder_payable:bank_a",
]
signed_fen = st.integers(-1_000_000, 1_000_000).filter(lambda v: v != 0)


@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(ACCOUNTS), signed_fen, st.sampled_from(["CNY", "CNY", "CNY", "USD"])
        ),
        min_size=0,
        max_size=8,
    ),
    close_it=st.booleans(),
)
def test_an_entry_builds_exactly_when_it_balances(
    lines: list[tuple[str, int, str]], close_it: bool
) -> None:
    postings = [Posting(acc, Money.from_minor(v, cur), "L1") for acc, v, cur in lines]
    total = sum(v for _, v, _ in lines)
    currencies = {cur for _, _, cur in lines}
    if close_it and total != 0 and len(currencies) == 1:
        postings.append(Posting("suspense", Money.from_minor(-total, next(iter(currencies))), "L1"))
        total = 0
    valid = len(postings) >= 2 and len({p.amount.currency for p in postings}) == 1 and total == 0
    if valid:
        entry = JournalEntry("e", EntryKind.ADJUSTMENT, DAY, tuple(postings))
        assert entry_sum(entry) == 0
        assert entry_sum(entry.reversal("r", DAY)) == 0
        assert balances([entry, entry.reversal("r", DAY)]) == {}
    else:
        with pytest.raises(UnbalancedEntry):
            JournalEntry("e", EntryKind.ADJUSTMENT, DAY, tuple(postings))


@given(
    principal=st.integers(0, 10_000_00),
    interest=st.integers(0, 10_000_00),
    fees=st.integers(0, 10_000_00),
    penalty=st.integers(0, 10_000_00),
    over=st.integers(0, 10_000_00),
)
def test_repayment_entries_always_balance(
    principal: int, interest: int, fees: int, penalty: int, over: int
) -> None:
    paid = ComponentAmounts(*(Money.from_minor(v) for v in (principal, interest, fees, penalty)))
    if paid.total.is_zero() and over == 0:
        with pytest.raises(UnbalancedEntry):
            repayment_entry("e", DAY, "L1", paid, Money.from_minor(over))
        return
    entry = repayment_entry("e", DAY, "L1", paid, Money.from_minor(over))
    assert entry_sum(entry) == 0
    assert balances([entry])[(CASH, "L1")] == paid.total + Money.from_minor(over)
