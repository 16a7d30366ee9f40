"""PostgreSQL storage of compliance: exposure by identity (with its lock), loan pricing and
the portfolio queries of the compliance report. Bureau submissions are in
``bureau_repository.py``; ``SqlComplianceStores`` binds all of them to one transaction.

An identity is the national ID's blind index (``borrowers.national_id_bidx``, set by
onboarding when the ID is verified), so the exposure of a person is summed over every
account verified with that ID; an account without one is an identity of its own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.bureau_repository import SqlBureauStore
from mobilend.adapters.db.compliance_tables import loan_pricing
from mobilend.adapters.db.lending_repository import _line_from_row
from mobilend.adapters.db.onboarding_tables import borrowers
from mobilend.adapters.db.statements import insert_into
from mobilend.app.compliance.ports import (
    IdentityExposure,
    LoanPricing,
    OpenLoan,
)
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans_terms import terms_from_state
from mobilend.domain.money import Money
from mobilend.domain.products import DEFAULT_LICENCE_TYPE

NATIONAL_ID = "nid:"
ACCOUNT = "account:"
#: Advisory-lock seed of identity locks (one lock per identity: its hash with this seed).
_IDENTITY_LOCK_SEED = 0x696474  # "idt"
#: Loans whose principal is owed: drawn and paid out, or drawn and awaiting the payout.
OWED_STATUSES = ("active", "pending_disbursement")


_NATIONAL_ID_INDEX = sa.select(borrowers.c.national_id_bidx).where(
    borrowers.c.id == sa.bindparam("borrower_id")
)
_LOCK_IDENTITY = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:identity, :seed))")

#: The accounts of an identity by its kind, with the key bound (``:key``): built once,
#: since every application and draw sums its person's exposure.
_ACCOUNTS_BY_KIND = {
    NATIONAL_ID: sa.select(borrowers.c.id).where(
        borrowers.c.national_id_bidx == sa.bindparam("key")
    ),
    ACCOUNT: sa.select(borrowers.c.id).where(borrowers.c.id == sa.bindparam("key")),
}
_LINES_OF = {
    kind: sa.select(t.credit_lines)
    .where(t.credit_lines.c.borrower_id.in_(accounts))
    .order_by(t.credit_lines.c.id)
    for kind, accounts in _ACCOUNTS_BY_KIND.items()
}
_PRINCIPAL_OF = {
    kind: sa.select(t.loans.c.outstanding_principal, t.loans.c.currency).where(
        t.loans.c.borrower_id.in_(accounts), t.loans.c.status.in_(OWED_STATUSES)
    )
    for kind, accounts in _ACCOUNTS_BY_KIND.items()
}


def _kind_and_key(identity: str) -> tuple[str, dict[str, str]]:
    kind = NATIONAL_ID if identity.startswith(NATIONAL_ID) else ACCOUNT
    return kind, {"key": identity.removeprefix(kind)}


class SqlExposureStore:
    """One transaction's view of exposures. A unit of work may sum a person's exposure
    more than once (an application weighs the room under the cap, then the line it
    opens), so a verified identity is read once and its lock taken once per transaction
    (taking an advisory lock the transaction holds again changes nothing)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._identities: dict[str, str] = {}
        self._locked: set[str] = set()
        self._locked_in: sa.RootTransaction | None = None

    def identity_of(self, borrower_id: str) -> str:
        known = self._identities.get(borrower_id)
        if known is not None:
            return known
        index = self._conn.execute(_NATIONAL_ID_INDEX, {"borrower_id": borrower_id}).scalar()
        if not index:  # not verified yet: may be verified later, so not kept
            return f"{ACCOUNT}{borrower_id}"
        identity = self._identities[borrower_id] = f"{NATIONAL_ID}{index}"
        return identity

    def lock(self, identity: str) -> None:
        transaction = self._conn.get_transaction()
        if transaction is not None and transaction is self._locked_in:
            if identity in self._locked:
                return
        else:
            self._locked_in, self._locked = transaction, set()
        self._conn.execute(_LOCK_IDENTITY, {"identity": identity, "seed": _IDENTITY_LOCK_SEED})
        self._locked.add(identity)

    def lines_of(self, identity: str) -> list[CreditLine]:
        kind, key = _kind_and_key(identity)
        return [_line_from_row(row) for row in self._conn.execute(_LINES_OF[kind], key)]

    def outstanding_principal_of(self, identity: str) -> list[Money]:
        kind, key = _kind_and_key(identity)
        rows = self._conn.execute(_PRINCIPAL_OF[kind], key)
        return [Money.from_minor(int(minor), currency.strip()) for minor, currency in rows]


class SqlLoanPricingStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, pricing: LoanPricing) -> None:
        borrower = self._conn.execute(
            sa.select(t.loans.c.borrower_id).where(t.loans.c.id == pricing.loan_id)
        ).scalar_one()
        self._conn.execute(
            insert_into(loan_pricing),
            dict(
                loan_id=pricing.loan_id,
                borrower_id=borrower,
                licence_type=pricing.licence_type,
                apr=pricing.apr,
                apr_for_cap=pricing.apr_for_cap,
                annual_rate=pricing.annual_rate,
                requested_rate=pricing.requested_rate,
                penalty_rate=pricing.penalty_rate,
                rulebook_version=pricing.rulebook_version,
                priced_on=pricing.priced_on,
            ),
        )

    def get(self, loan_id: str) -> LoanPricing | None:
        row = self._conn.execute(
            sa.select(loan_pricing).where(loan_pricing.c.loan_id == loan_id)
        ).first()
        if row is None:
            return None
        return LoanPricing(
            loan_id=row.loan_id,
            licence_type=row.licence_type,
            apr=Decimal(row.apr),
            apr_for_cap=Decimal(row.apr_for_cap),
            annual_rate=Decimal(row.annual_rate),
            requested_rate=Decimal(row.requested_rate),
            penalty_rate=Decimal(row.penalty_rate),
            rulebook_version=row.rulebook_version,
            priced_on=row.priced_on,
        )


# Per identity (the blind index, else the account): outstanding principal of loans owed
# and the unused limit of lines usable on the date, with the licence types of their
# products. One pass over lines and loans each, grouped; only identities above the floor.
_IDENTITIES_ABOVE = sa.text(
    """
    WITH accounts AS (
        SELECT id AS borrower_id,
               COALESCE('nid:' || national_id_bidx, 'account:' || id) AS identity
        FROM borrowers
    ), owed AS (
        SELECT a.identity, l.borrower_id, l.currency, l.outstanding_principal AS principal,
               0::bigint AS unused, COALESCE(p.definition ->> 'licence_type', :default_licence) AS licence_type
        FROM loans l
        JOIN accounts a ON a.borrower_id = l.borrower_id
        JOIN products p ON p.code = l.product_code
        WHERE l.status IN ('active', 'pending_disbursement')
    ), usable AS (
        SELECT a.identity, c.borrower_id, c.currency, 0::bigint AS principal,
               GREATEST(c.credit_limit - c.used, 0) AS unused,
               COALESCE(p.definition ->> 'licence_type', :default_licence) AS licence_type
        FROM credit_lines c
        JOIN accounts a ON a.borrower_id = c.borrower_id
        JOIN products p ON p.code = c.product_code
        WHERE c.status IN ('active', 'frozen') AND (c.expires_on IS NULL OR c.expires_on >= :on)
    ), everything AS (
        SELECT * FROM owed UNION ALL SELECT * FROM usable
    )
    SELECT identity, currency,
           array_agg(DISTINCT borrower_id ORDER BY borrower_id) AS borrower_ids,
           sum(principal) AS principal, sum(unused) AS unused,
           array_agg(DISTINCT licence_type) AS licence_types
    FROM everything
    GROUP BY identity, currency
    HAVING sum(principal) + sum(unused) > :floor
    ORDER BY identity
    """
)


class SqlCompliancePortfolio:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def identities_above(self, on: dt.date, floor: Money) -> list[IdentityExposure]:
        rows = self._conn.execute(
            _IDENTITIES_ABOVE,
            {"on": on, "floor": floor.to_minor(), "default_licence": DEFAULT_LICENCE_TYPE},
        )
        found = []
        for row in rows:
            currency = row.currency.strip()
            found.append(
                IdentityExposure(
                    identity=row.identity,
                    borrower_ids=tuple(row.borrower_ids),
                    outstanding_principal=Money.from_minor(int(row.principal), currency),
                    unused_limits=Money.from_minor(int(row.unused), currency),
                    licence_types=frozenset(row.licence_types),
                )
            )
        return found

    def open_loans(self, after_id: str = "", limit: int = 500) -> list[OpenLoan]:
        licence = sa.func.coalesce(
            t.products.c.definition["licence_type"].astext, DEFAULT_LICENCE_TYPE
        )
        rows = self._conn.execute(
            sa.select(
                t.loans.c.id,
                t.loans.c.borrower_id,
                t.loans.c.product_code,
                licence.label("licence_type"),
                t.loans.c.penalty_rate,
                t.loans.c.terms,
                loan_pricing.c.apr_for_cap,
            )
            .join(t.products, t.products.c.code == t.loans.c.product_code)
            .outerjoin(loan_pricing, loan_pricing.c.loan_id == t.loans.c.id)
            .where(t.loans.c.status.in_(OWED_STATUSES), t.loans.c.id > after_id)
            .order_by(t.loans.c.id)
            .limit(limit)
        )
        return [_open_loan(row) for row in rows]


def _open_loan(row: sa.Row[Any]) -> OpenLoan:
    return OpenLoan(
        loan_id=row.id,
        borrower_id=row.borrower_id,
        product_code=row.product_code,
        licence_type=row.licence_type,
        penalty_rate=Decimal(row.penalty_rate),
        terms=terms_from_state(dict(row.terms)),
        apr_for_cap=Decimal(row.apr_for_cap) if row.apr_for_cap is not None else None,
    )


class SqlComplianceStores:
    """Compliance's store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.exposures = SqlExposureStore(conn)
        self.pricing = SqlLoanPricingStore(conn)
        self.portfolio = SqlCompliancePortfolio(conn)
        self.bureau = SqlBureauStore(conn)
