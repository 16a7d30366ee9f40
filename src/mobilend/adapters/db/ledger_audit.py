"""``LedgerAudit`` on PostgreSQL: the aggregate queries ``mobilend ledger verify`` runs.

Each session is one read-only transaction (REPEATABLE READ), so the figures of one batch
are a consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.lending_repository import SqlLoanRepository, _line_from_row
from mobilend.app.lending.ports import EntryImbalance, LinePrincipal
from mobilend.domain.ledger import EntryKind
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money

#: Entries that share collections with funders: between the lender and its funders,
#: not between the loan and the borrower, so a loan's own balances leave them out.
NOT_THE_LOANS = (EntryKind.FUNDER_SHARE.value,)


class SqlLedgerAudit:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._loans = SqlLoanRepository(conn)

    def counts(self) -> tuple[int, int]:
        entries = self._conn.execute(sa.select(sa.func.count()).select_from(t.journal_entries))
        postings = self._conn.execute(sa.select(sa.func.count()).select_from(t.postings))
        return int(entries.scalar_one()), int(postings.scalar_one())

    def imbalances(self, limit: int = 100) -> list[EntryImbalance]:
        p, e = t.postings, t.journal_entries
        per_currency = (
            sa.select(
                e.c.id.label("entry_id"),
                sa.func.coalesce(p.c.currency, "").label("currency"),
                sa.func.coalesce(sa.func.sum(p.c.amount_minor), 0).label("total"),
                sa.func.count(p.c.id).label("postings"),
            )
            .select_from(e.outerjoin(p, p.c.entry_id == e.c.id))
            .group_by(e.c.id, p.c.currency)
            .subquery()
        )
        rows = self._conn.execute(
            sa.select(per_currency)
            .where(sa.or_(per_currency.c.total != 0, per_currency.c.postings < 2))
            .order_by(per_currency.c.entry_id)
            .limit(limit)
        )
        orphans = self._conn.execute(
            sa.select(p.c.entry_id, p.c.currency, sa.func.sum(p.c.amount_minor), sa.func.count())
            .where(~sa.exists().where(e.c.id == p.c.entry_id))
            .group_by(p.c.entry_id, p.c.currency)
            .limit(limit)
        )
        return [EntryImbalance(r[0], r[1], int(r[2]), int(r[3])) for r in [*rows, *orphans]]

    def currency_totals(self) -> dict[str, int]:
        rows = self._conn.execute(
            sa.select(t.postings.c.currency, sa.func.sum(t.postings.c.amount_minor)).group_by(
                t.postings.c.currency
            )
        )
        return {currency: int(total) for currency, total in rows}

    def loans_after(self, after: str, limit: int) -> list[Loan]:
        ids = self._conn.execute(
            sa.select(t.loans.c.id).where(t.loans.c.id > after).order_by(t.loans.c.id).limit(limit)
        ).scalars()
        return [self._loans.get(loan_id) for loan_id in list(ids)]

    def loan_balances(self, loan_ids: Sequence[str]) -> dict[str, dict[str, Money]]:
        if not loan_ids:
            return {}
        p, e = t.postings, t.journal_entries
        base = sa.func.split_part(p.c.account, ":", 1)
        rows = self._conn.execute(
            sa.select(p.c.loan_id, base, p.c.currency, sa.func.sum(p.c.amount_minor))
            .select_from(p.join(e, e.c.id == p.c.entry_id))
            .where(p.c.loan_id.in_(list(loan_ids)), e.c.kind.not_in(NOT_THE_LOANS))
            .group_by(p.c.loan_id, base, p.c.currency)
        )
        result: dict[str, dict[str, Money]] = {}
        for loan_id, account, currency, total in rows:
            if int(total) != 0:
                result.setdefault(loan_id, {})[account] = Money.from_minor(int(total), currency)
        return result

    def lines_after(self, after: str, limit: int) -> list[CreditLine]:
        rows = self._conn.execute(
            sa.select(t.credit_lines)
            .where(t.credit_lines.c.id > after)
            .order_by(t.credit_lines.c.id)
            .limit(limit)
        )
        return [_line_from_row(row) for row in rows]

    def line_principal(self, line_ids: Sequence[str]) -> dict[str, LinePrincipal]:
        if not line_ids:
            return {}
        loans = t.loans
        open_states = ("pending_disbursement", "active", "written_off")
        rows = self._conn.execute(
            sa.select(
                loans.c.line_id,
                loans.c.currency,
                sa.func.sum(
                    sa.case(
                        (loans.c.status.in_(open_states), loans.c.outstanding_principal),
                        else_=0,
                    )
                ),
                sa.func.sum(sa.case((loans.c.status != "cancelled", loans.c.principal), else_=0)),
            )
            .where(loans.c.line_id.in_(list(line_ids)))
            .group_by(loans.c.line_id, loans.c.currency)
        )
        return {
            line_id: LinePrincipal(
                Money.from_minor(int(out), currency), Money.from_minor(int(drawn), currency)
            )
            for line_id, currency, out, drawn in rows
        }


@contextmanager
def ledger_audit_session(engine: sa.Engine) -> Iterator[SqlLedgerAudit]:
    """One read-only, repeatable-read transaction for one batch of checks."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            yield SqlLedgerAudit(conn)
