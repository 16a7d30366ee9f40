"""PostgreSQL repositories of the lending core (``SqlLendingStores``).

Aggregates are mapped through their ``to_state``/``from_state`` plain values, so
the columns here and the domain's fields are the same nouns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.lending_ledger_repository import (
    SqlLedgerRepository,
    SqlRepaymentRepository,
)
from mobilend.adapters.db.statements import insert_into
from mobilend.domain.errors import NotFound
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.products import LoanProduct
from mobilend.domain.products_state import product_from_state, product_to_state

# --------------------------------------------------------------------------- products


class SqlProductRepository:
    """Products of one transaction: a product read once is kept for the rest of it (a
    signature reads its product to quote, to draw and to accept the offer)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._read: dict[str, LoanProduct] = {}

    def add(self, product: LoanProduct) -> None:
        self._conn.execute(
            insert_into(t.products), dict(code=product.code, definition=product_to_state(product))
        )

    def get(self, code: str) -> LoanProduct:
        product = self._read.get(code)
        if product is not None:
            return product
        row = self._conn.execute(_PRODUCT, {"code": code}).first()
        if row is None:
            raise NotFound(f"product {code!r} not found")
        product = self._read[code] = product_from_state(dict(row.definition))
        return product

    def list(self) -> list[LoanProduct]:
        rows = self._conn.execute(sa.select(t.products.c.definition).order_by(t.products.c.code))
        return [product_from_state(dict(r.definition)) for r in rows]

    def save(self, product: LoanProduct) -> None:
        self._read.pop(product.code, None)
        changed = self._conn.execute(
            t.products.update()
            .where(t.products.c.code == product.code)
            .values(definition=product_to_state(product), version=t.products.c.version + 1)
        ).rowcount
        if changed == 0:
            raise NotFound(f"product {product.code!r} not found")


class SqlBorrowerDirectory:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def ensure(self, borrower_id: str) -> None:
        self._conn.execute(
            pg_insert(t.borrowers)
            .values(id=borrower_id)
            .on_conflict_do_nothing(index_elements=["id"])
        )

    def exists(self, borrower_id: str) -> bool:
        return (
            self._conn.execute(
                sa.select(t.borrowers.c.id).where(t.borrowers.c.id == borrower_id)
            ).first()
            is not None
        )


# --------------------------------------------------------------------------- credit lines


def _line_values(line: CreditLine) -> dict[str, Any]:
    state = line.to_state()
    return {
        "id": state["line_id"],
        "borrower_id": state["borrower_id"],
        "product_code": state["product_code"],
        "credit_limit": state["limit_minor"],
        "used": state["used_minor"],
        "currency": state["currency"],
        "status": state["status"],
        "expires_on": line.expires_on,
        "opened_on": line.opened_on,
        "frozen_reason": state["freeze_reason"] or None,
        "revolving": state["revolving"],
    }


def _line_from_row(row: sa.Row[Any]) -> CreditLine:
    return CreditLine.from_state(
        {
            "line_id": row.id,
            "borrower_id": row.borrower_id,
            "currency": row.currency,
            "limit_minor": row.credit_limit,
            "used_minor": row.used,
            "expires_on": row.expires_on.isoformat(),
            "opened_on": (row.opened_on or row.created_at.date()).isoformat(),
            "status": row.status,
            "revolving": row.revolving,
            "freeze_reason": row.frozen_reason or "",
            "product_code": row.product_code,
        }
    )


# Statements built once (``adapters.db.statements``): the hottest reads and writes.
_PRODUCT = sa.select(t.products.c.definition).where(t.products.c.code == sa.bindparam("code"))
_LINE = sa.select(t.credit_lines).where(t.credit_lines.c.id == sa.bindparam("line_id"))
_LINE_FOR_UPDATE = _LINE.with_for_update()
_LINES_OF = (
    sa.select(t.credit_lines)
    .where(t.credit_lines.c.borrower_id == sa.bindparam("borrower_id"))
    .order_by(t.credit_lines.c.created_at, t.credit_lines.c.id)
)
_SAVE_LINE = (
    t.credit_lines.update()
    .where(t.credit_lines.c.id == sa.bindparam("key_id"))
    .values(version=t.credit_lines.c.version + 1)
)
_LOAN = sa.select(t.loans).where(t.loans.c.id == sa.bindparam("loan_id"))
_LOAN_FOR_UPDATE = _LOAN.with_for_update()
_INSTALLMENTS_OF = (
    sa.select(t.installments)
    .where(t.installments.c.loan_id == sa.bindparam("loan_id"))
    .order_by(t.installments.c.n)
)
_SAVE_LOAN = (
    t.loans.update()
    .where(t.loans.c.id == sa.bindparam("key_id"))
    .values(version=t.loans.c.version + 1)
)


class SqlCreditLineRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, line: CreditLine) -> None:
        self._conn.execute(insert_into(t.credit_lines), _line_values(line))

    def get(self, line_id: str, *, for_update: bool = False) -> CreditLine:
        query = _LINE_FOR_UPDATE if for_update else _LINE
        row = self._conn.execute(query, {"line_id": line_id}).first()
        if row is None:
            raise NotFound(f"credit line {line_id} not found")
        return _line_from_row(row)

    def save(self, line: CreditLine) -> None:
        values = _line_values(line)
        self._conn.execute(_SAVE_LINE, {**values, "key_id": line.line_id})

    def for_borrower(self, borrower_id: str) -> list[CreditLine]:
        rows = self._conn.execute(_LINES_OF, {"borrower_id": borrower_id})
        return [_line_from_row(r) for r in rows]


# --------------------------------------------------------------------------- loans

_INSTALLMENT_MONEY = (
    "principal_due", "interest_scheduled", "fees_due", "interest_accrued", "fees_charged",
    "penalty_posted", "principal_paid", "interest_paid", "fees_paid", "penalty_paid",
    "interest_base",
)  # fmt: skip


def _date_or_none(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def _loan_values(loan: Loan, state: dict[str, Any] | None = None) -> dict[str, Any]:
    state = state if state is not None else loan.to_state()
    receivables = loan.receivables
    bucket = loan.bucket(on=loan.accrued_through) if loan.accrued_through else None
    return {
        "id": state["loan_id"],
        "borrower_id": state["borrower_id"],
        "line_id": state["line_id"],
        "product_code": state["product_code"],
        "principal": state["principal_minor"],
        "currency": state["currency"],
        "status": state["status"],
        "funding_account": state["funding_account"],
        "terms": state["terms"],
        "rules": state["rules"],
        "annual_rate": loan.terms.annual_rate,
        "penalty_rate": loan.rules.penalty_rate,
        "penalty_grace_days": loan.rules.penalty_grace_days,
        "day_count": loan.terms.day_count.value,
        "method": loan.terms.method.value,
        "rounding": loan.terms.rounding.value,
        "disbursed_on": _date_or_none(state["disbursed_on"]),
        "accrued_through": _date_or_none(state["accrued_through"]),
        "closed_on": _date_or_none(state["closed_on"]),
        "dpd": state["dpd"],
        "max_dpd": state["max_dpd"],
        "bucket": bucket.code if bucket is not None else "C",
        "credit_balance": state["credit_balance_minor"],
        "cash_received": state["cash_received_minor"],
        "cash_refunded": state["cash_refunded_minor"],
        "recovered": state["recovered_minor"],
        "written_off": state["written_off"],
        "entry_seq": state["entry_seq"],
        "outstanding_principal": state["outstanding_principal_minor"],
        "accrued_interest": loan.accrued_interest_not_due().to_minor(),
        "interest_receivable": receivables.interest.to_minor(),
        "fee_receivable": receivables.fees.to_minor(),
        "penalty_receivable": receivables.penalty.to_minor(),
    }


def _installment_rows(loan: Loan, state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The loan's installments as rows; ``state`` is ``loan.to_state()`` when the caller
    has it already (it is the costly part of a save)."""
    rows = []
    for item in (state if state is not None else loan.to_state())["installments"]:
        row: dict[str, Any] = {
            "loan_id": loan.loan_id,
            "borrower_id": loan.borrower_id,
            "n": item["n"],
            "kind": item["kind"],
            "period_start": dt.date.fromisoformat(item["period_start"]),
            "due_date": dt.date.fromisoformat(item["due_date"]),
            "penalty_exact": item["penalty_exact"],
            "settled_on": _date_or_none(item["settled_on"]),
            "accrual_start": _date_or_none(item["accrual_start"]),
            "status": item["status"],
        }
        for name in _INSTALLMENT_MONEY:
            row[name] = item[f"{name}_minor"]
        rows.append(row)
    return rows


def _loan_from_rows(row: sa.Row[Any], installments: Sequence[sa.Row[Any]]) -> Loan:
    def iso(value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    state: dict[str, Any] = {
        "loan_id": row.id,
        "borrower_id": row.borrower_id,
        "currency": row.currency,
        "status": row.status,
        "line_id": row.line_id,
        "product_code": row.product_code,
        "funding_account": row.funding_account,
        "principal_minor": row.principal,
        "terms": row.terms,
        "rules": row.rules,
        "disbursed_on": iso(row.disbursed_on),
        "accrued_through": iso(row.accrued_through),
        "dpd": row.dpd,
        "max_dpd": row.max_dpd,
        "credit_balance_minor": row.credit_balance,
        "cash_received_minor": row.cash_received,
        "cash_refunded_minor": row.cash_refunded,
        "recovered_minor": row.recovered,
        "written_off": row.written_off,
        "closed_on": iso(row.closed_on),
        "entry_seq": row.entry_seq,
        "installments": [
            {
                "n": i.n,
                "kind": i.kind,
                "period_start": i.period_start.isoformat(),
                "due_date": i.due_date.isoformat(),
                "penalty_exact": str(i.penalty_exact),
                "settled_on": iso(i.settled_on),
                "accrual_start": iso(i.accrual_start),
                **{f"{name}_minor": getattr(i, name) for name in _INSTALLMENT_MONEY},
            }
            for i in installments
        ],
    }
    return Loan.from_state(state)


#: An installment row as written: column name -> value (``penalty_exact`` as its text).
InstallmentRow = dict[str, Any]

_INSTALLMENT_KEY = ("loan_id", "n")
_INSTALLMENT_VALUES = tuple(
    c.name for c in t.installments.columns if c.name not in _INSTALLMENT_KEY
)
# One statement for every changed row of a save, run as an executemany.
_UPDATE_INSTALLMENT = (
    t.installments.update()
    .where(
        t.installments.c.loan_id == sa.bindparam("key_loan_id"),
        t.installments.c.n == sa.bindparam("key_n"),
    )
    .values({name: sa.bindparam(name) for name in _INSTALLMENT_VALUES})
)


def _stored_installment(row: sa.Row[Any]) -> InstallmentRow:
    """A row read back, in the shape ``_installment_rows`` writes it. ``penalty_exact``
    is compared as text, so a value equal in amount but written differently ("0.10"
    against "0.1") is still written, as it was before rows were compared."""
    stored: InstallmentRow = {"loan_id": row.loan_id, "n": row.n}
    for name in _INSTALLMENT_VALUES:
        stored[name] = getattr(row, name)
    stored["penalty_exact"] = str(row.penalty_exact)
    return stored


class SqlLoanRepository:
    """Loans and their installments. The installment rows of a loan read under its row
    lock (``for_update``), added or saved are kept, so ``save`` writes only the
    installments that changed: one UPDATE run over the changed rows, INSERTs for new
    ones, a DELETE for those gone (a re-amortised or rescheduled schedule). The rows are
    trusted only within the transaction (and savepoint) that read them, when the lock
    keeps other writers out; otherwise ``save`` replaces the whole schedule as a set.
    Plain reads keep nothing, so a scan over many loans holds no rows."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        # Installment rows by loan id and number, as read or written in ``_scope``.
        self._stored: dict[str, dict[int, InstallmentRow]] = {}
        self._scope: tuple[object, object] = (None, None)

    def _in_scope(self) -> bool:
        """Whether the kept rows were read in the current transaction and savepoint;
        if not, they are dropped."""
        transaction, savepoint = self._scope
        if (
            transaction is not None
            and transaction is self._conn.get_transaction()
            and savepoint is self._conn.get_nested_transaction()
        ):
            return True
        self._stored.clear()
        self._scope = (self._conn.get_transaction(), self._conn.get_nested_transaction())
        return False

    def _remember(self, loan_id: str, rows: Sequence[InstallmentRow]) -> None:
        self._in_scope()
        self._stored[loan_id] = {row["n"]: row for row in rows}

    def _stored_rows(self, loan_id: str) -> dict[int, InstallmentRow] | None:
        return self._stored.get(loan_id) if self._in_scope() else None

    def add(self, loan: Loan) -> None:
        state = loan.to_state()
        rows = _installment_rows(loan, state)
        self._conn.execute(insert_into(t.loans), _loan_values(loan, state))
        self._conn.execute(insert_into(t.installments), rows)
        self._remember(loan.loan_id, rows)

    def get(self, loan_id: str, *, for_update: bool = False) -> Loan:
        query = _LOAN_FOR_UPDATE if for_update else _LOAN
        row = self._conn.execute(query, {"loan_id": loan_id}).first()
        if row is None:
            raise NotFound(f"loan {loan_id} not found")
        installments = self._conn.execute(_INSTALLMENTS_OF, {"loan_id": loan_id}).all()
        if for_update:
            self._remember(loan_id, [_stored_installment(i) for i in installments])
        return _loan_from_rows(row, installments)

    def save(self, loan: Loan) -> None:
        state = loan.to_state()
        self._conn.execute(_SAVE_LOAN, {**_loan_values(loan, state), "key_id": loan.loan_id})
        rows = _installment_rows(loan, state)
        stored = self._stored_rows(loan.loan_id)
        if stored is None:
            # Nothing known of the rows in the database: replace them as a set.
            self._conn.execute(
                t.installments.delete().where(t.installments.c.loan_id == loan.loan_id)
            )
            self._conn.execute(insert_into(t.installments), rows)
        else:
            self._write_changes(loan.loan_id, stored, rows)
        self._remember(loan.loan_id, rows)

    def _write_changes(
        self, loan_id: str, stored: dict[int, InstallmentRow], rows: list[InstallmentRow]
    ) -> None:
        wanted = {row["n"] for row in rows}
        gone = sorted(n for n in stored if n not in wanted)
        changed = [
            {"key_loan_id": loan_id, "key_n": row["n"], **{k: row[k] for k in _INSTALLMENT_VALUES}}
            for row in rows
            if row["n"] in stored and stored[row["n"]] != row
        ]
        new = [row for row in rows if row["n"] not in stored]
        if gone:
            self._conn.execute(
                t.installments.delete().where(
                    t.installments.c.loan_id == loan_id, t.installments.c.n.in_(gone)
                )
            )
        if changed:
            self._conn.execute(_UPDATE_INSTALLMENT, changed)
        if new:
            self._conn.execute(insert_into(t.installments), new)

    def for_borrower(self, borrower_id: str) -> list[Loan]:
        ids = self._conn.execute(
            sa.select(t.loans.c.id)
            .where(t.loans.c.borrower_id == borrower_id)
            .order_by(t.loans.c.created_at, t.loans.c.id)
        ).scalars()
        return [self.get(loan_id) for loan_id in list(ids)]

    def ids_needing_eod(
        self, business_date: dt.date, after_id: str = "", limit: int = 500
    ) -> list[str]:
        rows = self._conn.execute(
            sa.select(t.loans.c.id)
            .where(
                t.loans.c.status == "active",
                t.loans.c.closed_on.is_(None),
                t.loans.c.accrued_through < business_date,
                t.loans.c.id > after_id,
            )
            .order_by(t.loans.c.id)
            .limit(limit)
        ).scalars()
        return list(rows)


# --------------------------------------------------------------------------- unit of work


class SqlLendingStores:
    """The lending store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.products = SqlProductRepository(conn)
        self.borrowers = SqlBorrowerDirectory(conn)
        self.lines = SqlCreditLineRepository(conn)
        self.loans = SqlLoanRepository(conn)
        self.ledger = SqlLedgerRepository(conn)
        self.repayments = SqlRepaymentRepository(conn)
