"""Record look-ups for the console and the staff API (``BackofficeQueries``).

Each query reads by primary key, by a blind index or through an index named in
``analytics_tables.CONSOLE_INDEXES``; lists page by key (``id > cursor``), never by
offset, so the millionth row costs what the first does. The engine may point at a read
replica: nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import funding_tables as f
from mobilend.adapters.db import journey_tables as j
from mobilend.adapters.db import onboarding_tables as o
from mobilend.adapters.db import risk_tables as r
from mobilend.adapters.db import servicing_tables as s
from mobilend.adapters.db import tables as t
from mobilend.adapters.db.operations_tables import referral_reviews
from mobilend.app.operations.ports import (
    ApplicationRow,
    BorrowerRecord,
    CollectionEvent,
    ContractRow,
    DecisionDetail,
    InstallmentRow,
    LineRow,
    LoanDetail,
    LoanRow,
    MessageRow,
    Page,
    PayoutRow,
    PiiField,
    PostingRow,
    RecordKind,
    RepaymentRow,
    ReviewQueueItem,
    SearchHit,
    TrancheRow,
)
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

_B = o.borrowers


def _money(minor: int | None, currency: str = "CNY") -> Money:
    return Money.from_minor(int(minor or 0), currency)


def _score(record: Any) -> int | None:
    try:
        return int(record["workings"]["final_score"]["score"])
    except (KeyError, TypeError, ValueError):
        return None


def _borrower(row: Any) -> BorrowerRecord:
    return BorrowerRecord(
        borrower_id=row.id,
        status=row.status,
        created_at=row.created_at,
        kyc_verified_at=row.kyc_verified_at,
        birth_date_enc=row.birth_date_enc,
        freeze_reason=row.freeze_reason or "",
        sealed={
            PiiField.PHONE: row.phone_enc,
            PiiField.NAME: row.name_enc,
            PiiField.NATIONAL_ID: row.national_id_enc,
            PiiField.BANK_CARD: row.bank_card_enc,
        },
    )


def _line(row: Any) -> LineRow:
    return LineRow(
        line_id=row.id,
        borrower_id=row.borrower_id,
        product_code=row.product_code,
        limit=_money(row.credit_limit, row.currency),
        used=_money(row.used, row.currency),
        status=row.status,
        opened_on=row.opened_on,
        expires_on=row.expires_on,
        frozen_reason=row.frozen_reason or "",
    )


_LOAN_COLUMNS = (
    t.loans.c.id,
    t.loans.c.borrower_id,
    t.loans.c.line_id,
    t.loans.c.product_code,
    t.loans.c.principal,
    t.loans.c.outstanding_principal,
    t.loans.c.currency,
    t.loans.c.status,
    t.loans.c.disbursed_on,
    t.loans.c.closed_on,
    t.loans.c.dpd,
    t.loans.c.max_dpd,
    t.loans.c.bucket,
    t.loans.c.annual_rate,
    t.loans.c.funding_account,
)


def _loan(row: Any) -> LoanRow:
    return LoanRow(
        loan_id=row.id,
        borrower_id=row.borrower_id,
        line_id=row.line_id,
        product_code=row.product_code,
        principal=_money(row.principal, row.currency),
        outstanding_principal=_money(row.outstanding_principal, row.currency),
        status=row.status,
        disbursed_on=row.disbursed_on,
        closed_on=row.closed_on,
        dpd=row.dpd,
        max_dpd=row.max_dpd,
        bucket=row.bucket,
        annual_rate=Decimal(row.annual_rate),
        funding_account=row.funding_account,
    )


def _application(row: Any) -> ApplicationRow:
    return ApplicationRow(
        application_id=row.id,
        borrower_id=row.borrower_id,
        product_code=row.product_code,
        outcome=row.outcome,
        decision_id=row.decision_id,
        applied_at=row.applied_at,
        decided_on=row.decided_on,
        limit=_money(row.limit_minor, row.currency) if row.limit_minor is not None else None,
        annual_rate=Decimal(row.annual_rate) if row.annual_rate is not None else None,
        line_id=row.line_id,
        reasons=tuple(dict(x) for x in (row.reasons or [])),
        versions=dict(row.versions or {}),
        declared=dict(row.declared or {}),
    )


def _contract(row: Any) -> ContractRow:
    return ContractRow(
        contract_id=row.id,
        borrower_id=row.borrower_id,
        line_id=row.line_id,
        loan_id=row.loan_id,
        status=row.status,
        template_version=row.template_version,
        sha256=row.sha256,
        created_at=row.created_at,
        signed_at=row.signed_at,
        ip_address=row.ip_address,
        device_id=row.device_id,
        terms=dict(row.terms or {}),
        body=row.body,
    )


class SqlBackofficeQueries:
    """Implements ``BackofficeQueries``; each call uses one short read-only connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def _rows(self, query: sa.Executable, **params: Any) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(query, params))

    def _one(self, query: sa.Executable, what: str) -> Any:
        rows = self._rows(query)
        if not rows:
            raise NotFound(f"{what} not found")
        return rows[0]

    # -- search ------------------------------------------------------------------------
    def search(self, text: str, phone_bidx: str | None, id_bidx: str | None) -> list[SearchHit]:
        hits: list[SearchHit] = []
        with self._engine.connect() as conn:
            if phone_bidx or id_bidx:
                rows = conn.execute(
                    sa.select(_B.c.id, _B.c.status).where(
                        sa.or_(
                            _B.c.phone_bidx == phone_bidx if phone_bidx else sa.false(),
                            _B.c.national_id_bidx == id_bidx if id_bidx else sa.false(),
                        )
                    )
                )
                hits += [SearchHit(RecordKind.BORROWER, r.id, r.id, "", r.status) for r in rows]
            lookups: list[tuple[RecordKind, Any, Any, Any, Any]] = [
                (RecordKind.BORROWER, _B, _B.c.id, _B.c.id, _B.c.status),
                (RecordKind.LOAN, t.loans, t.loans.c.id, t.loans.c.borrower_id, t.loans.c.status),
                (
                    RecordKind.LINE,
                    t.credit_lines,
                    t.credit_lines.c.id,
                    t.credit_lines.c.borrower_id,
                    t.credit_lines.c.status,
                ),
                (
                    RecordKind.CONTRACT,
                    j.loan_contracts,
                    j.loan_contracts.c.id,
                    j.loan_contracts.c.borrower_id,
                    j.loan_contracts.c.status,
                ),
                (
                    RecordKind.APPLICATION,
                    j.credit_applications,
                    j.credit_applications.c.id,
                    j.credit_applications.c.borrower_id,
                    j.credit_applications.c.outcome,
                ),
                (
                    RecordKind.DECISION,
                    r.decisions,
                    r.decisions.c.id,
                    r.decisions.c.borrower_id,
                    r.decisions.c.outcome,
                ),
            ]
            selects = [
                sa.select(
                    sa.literal(kind.value).label("kind"),
                    id_col.label("id"),
                    borrower_col.label("borrower_id"),
                    status_col.label("status"),
                )
                .select_from(table)
                .where(id_col == text)
                for kind, table, id_col, borrower_col, status_col in lookups
            ]
            for row in conn.execute(sa.union_all(*selects)):
                hits.append(
                    SearchHit(RecordKind(row.kind), row.id, row.borrower_id, "", row.status)
                )
        seen: set[tuple[RecordKind, str]] = set()
        unique = []
        for hit in hits:
            if (hit.kind, hit.record_id) not in seen:
                seen.add((hit.kind, hit.record_id))
                unique.append(hit)
        return unique

    # -- borrowers ---------------------------------------------------------------------
    def borrower(self, borrower_id: str) -> BorrowerRecord:
        row = self._one(sa.select(_B).where(_B.c.id == borrower_id), f"borrower {borrower_id}")
        return _borrower(row)

    def borrowers(self, status: str | None, cursor: str | None, limit: int) -> Page:
        query = sa.select(_B)
        if status:
            query = query.where(_B.c.status == status)
        if cursor:
            created, _, last_id = cursor.partition("|")
            query = query.where(
                sa.tuple_(_B.c.created_at, _B.c.id)
                < sa.tuple_(sa.cast(created, sa.DateTime(timezone=True)), last_id)
            )
        rows = self._rows(query.order_by(_B.c.created_at.desc(), _B.c.id.desc()).limit(limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = f"{rows[-1].created_at.isoformat()}|{rows[-1].id}" if more else None
        return Page(tuple(_borrower(x) for x in rows), next_cursor)

    # -- lines and loans ---------------------------------------------------------------
    def lines_of(self, borrower_id: str) -> list[LineRow]:
        lines = t.credit_lines
        query = sa.select(lines).where(lines.c.borrower_id == borrower_id)
        return [_line(x) for x in self._rows(query.order_by(lines.c.created_at.desc()))]

    def line(self, line_id: str) -> LineRow:
        lines = t.credit_lines
        return _line(self._one(sa.select(lines).where(lines.c.id == line_id), f"line {line_id}"))

    def loans_of(self, borrower_id: str) -> list[LoanRow]:
        query = sa.select(*_LOAN_COLUMNS).where(t.loans.c.borrower_id == borrower_id)
        return [_loan(x) for x in self._rows(query.order_by(t.loans.c.created_at.desc()))]

    def loans_of_line(self, line_id: str) -> list[LoanRow]:
        query = sa.select(*_LOAN_COLUMNS).where(t.loans.c.line_id == line_id)
        return [_loan(x) for x in self._rows(query.order_by(t.loans.c.created_at.desc()))]

    def loans(self, status: str | None, bucket: str | None, cursor: str | None, limit: int) -> Page:
        query = sa.select(*_LOAN_COLUMNS)
        if status:
            query = query.where(t.loans.c.status == status)
        if bucket:
            query = query.where(t.loans.c.bucket == bucket)
        if cursor:
            query = query.where(t.loans.c.id > cursor)
        rows = self._rows(query.order_by(t.loans.c.id).limit(limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(tuple(_loan(x) for x in rows), rows[-1].id if more else None)

    def loan(self, loan_id: str) -> LoanDetail:
        loans = t.loans
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(loans).where(loans.c.id == loan_id)).first()
            if row is None:
                raise NotFound(f"loan {loan_id} not found")
            ccy = row.currency
            inst = t.installments
            installments = tuple(
                InstallmentRow(
                    n=i.n,
                    due_date=i.due_date,
                    principal_due=_money(i.principal_due, ccy),
                    interest_due=_money(max(i.interest_scheduled, i.interest_accrued), ccy),
                    fees_due=_money(max(i.fees_due, i.fees_charged), ccy),
                    penalty=_money(i.penalty_posted, ccy),
                    paid=_money(
                        i.principal_paid + i.interest_paid + i.fees_paid + i.penalty_paid, ccy
                    ),
                    status=i.status,
                    settled_on=i.settled_on,
                )
                for i in conn.execute(
                    sa.select(inst).where(inst.c.loan_id == loan_id).order_by(inst.c.n)
                )
            )
            p, e = t.postings, t.journal_entries
            postings = tuple(
                PostingRow(
                    x.entry_id,
                    x.kind,
                    x.business_date,
                    x.account,
                    _money(x.amount_minor, x.currency),
                )
                for x in conn.execute(
                    sa.select(
                        p.c.entry_id,
                        e.c.kind,
                        e.c.business_date,
                        p.c.account,
                        p.c.amount_minor,
                        p.c.currency,
                    )
                    .join(e, e.c.id == p.c.entry_id)
                    .where(p.c.loan_id == loan_id)
                    .order_by(p.c.id)
                    .limit(1000)
                )
            )
            rp = t.repayments
            repayments = tuple(
                RepaymentRow(
                    x.id, _money(x.amount, x.currency), x.received_on, x.channel, x.created_at
                )
                for x in conn.execute(
                    sa.select(rp).where(rp.c.loan_id == loan_id).order_by(rp.c.created_at)
                )
            )
            po = f.loan_payouts
            pay = conn.execute(sa.select(po).where(po.c.loan_id == loan_id)).first()
            payout = (
                PayoutRow(
                    pay.status,
                    _money(pay.amount, pay.currency),
                    pay.attempts,
                    pay.rail_reference,
                    pay.failure_code,
                    pay.settled_on,
                    pay.updated_at,
                )
                if pay is not None
                else None
            )
            tr = f.loan_tranches
            tranches = tuple(
                TrancheRow(x.funder_code, _money(x.principal, x.currency), Decimal(x.share))
                for x in conn.execute(
                    sa.select(tr).where(tr.c.loan_id == loan_id, sa.not_(tr.c.released))
                )
            )
            sm = s.servicing_messages
            messages = [
                MessageRow(x.created_at, x.channel, x.kind, x.template, x.status)
                for x in conn.execute(
                    sa.select(sm)
                    .where(sm.c.borrower_id == row.borrower_id, sm.c.loan_id == loan_id)
                    .order_by(sm.c.created_at.desc())
                    .limit(100)
                )
            ]
            nt = j.notifications
            messages += [
                MessageRow(x.created_at, x.channel, "service", x.title_zh, x.status)
                for x in conn.execute(
                    sa.select(nt)
                    .where(nt.c.borrower_id == row.borrower_id)
                    .order_by(nt.c.created_at.desc())
                    .limit(50)
                )
            ]
            messages.sort(key=lambda m: m.created_at, reverse=True)
            ad = s.autodebit_attempts
            collection = [
                CollectionEvent(
                    x.business_date,
                    "autodebit",
                    f"{_money(x.amount, x.currency).format()} / day {x.plan_day} "
                    f"{x.failure_code}".strip(),
                    x.status,
                )
                for x in conn.execute(
                    sa.select(ad).where(ad.c.loan_id == loan_id).order_by(ad.c.business_date)
                )
            ]
            bs = s.loan_behaviour_scores
            score = conn.execute(sa.select(bs).where(bs.c.loan_id == loan_id)).first()
            if score is not None:
                collection.append(
                    CollectionEvent(
                        score.scored_on,
                        "behaviour_score",
                        f"{score.score} {score.band} → {score.next_bucket}",
                        "roll_risk" if score.roll_risk else "ok",
                    )
                )
            lc = j.loan_contracts
            contract_id = conn.execute(
                sa.select(lc.c.id).where(lc.c.loan_id == loan_id)
            ).scalar_one_or_none()
        return LoanDetail(
            loan=_loan(row),
            installments=installments,
            postings=postings,
            repayments=repayments,
            payout=payout,
            tranches=tranches,
            messages=tuple(messages),
            collection=tuple(sorted(collection, key=lambda c: c.on)),
            contract_id=contract_id,
            receivables={
                "principal": _money(row.outstanding_principal, ccy),
                "interest": _money(row.interest_receivable, ccy),
                "fees": _money(row.fee_receivable, ccy),
                "penalty": _money(row.penalty_receivable, ccy),
                "credit_balance": _money(row.credit_balance, ccy),
            },
        )

    # -- applications, contracts, decisions --------------------------------------------
    def applications_of(self, borrower_id: str) -> list[ApplicationRow]:
        a = j.credit_applications
        query = sa.select(a).where(a.c.borrower_id == borrower_id).order_by(a.c.applied_at.desc())
        return [_application(x) for x in self._rows(query)]

    def application(self, application_id: str) -> ApplicationRow:
        a = j.credit_applications
        row = self._one(
            sa.select(a).where(a.c.id == application_id), f"application {application_id}"
        )
        return _application(row)

    def contracts_of(self, borrower_id: str) -> list[ContractRow]:
        c = j.loan_contracts
        query = sa.select(c).where(c.c.borrower_id == borrower_id).order_by(c.c.created_at.desc())
        return [_contract(x) for x in self._rows(query)]

    def contract(self, contract_id: str) -> ContractRow:
        c = j.loan_contracts
        return _contract(
            self._one(sa.select(c).where(c.c.id == contract_id), f"contract {contract_id}")
        )

    def decision(self, decision_id: str) -> DecisionDetail | None:
        d = r.decisions
        rows = self._rows(sa.select(d).where(d.c.id == decision_id))
        if not rows:
            return None
        x = rows[0]
        return DecisionDetail(
            decision_id=x.id,
            application_id=x.application_id,
            borrower_id=x.borrower_id,
            product_code=x.product_code,
            decided_on=x.decided_on,
            outcome=x.outcome,
            limit=_money(x.limit_minor, x.currency) if x.limit_minor is not None else None,
            annual_rate=Decimal(x.annual_rate) if x.annual_rate is not None else None,
            score=_score(x.record),
            policy_id=x.policy_id,
            model_version=x.model_version,
            arm=x.arm,
            cost=_money(x.cost_minor, x.currency),
            reasons=tuple(dict(y) for y in (x.reasons or [])),
            versions=dict(x.versions or {}),
            record=dict(x.record),
        )

    # -- the manual review queue -------------------------------------------------------
    def review_queue(self, limit: int) -> list[ReviewQueueItem]:
        a, rv, d = j.credit_applications, referral_reviews, r.decisions
        score = d.c.record["workings"]["final_score"]["score"].astext
        query = (
            sa.select(
                a,
                rv.c.status.label("review_status"),
                rv.c.approval_id,
                score.label("score"),
                d.c.cost_minor,
                d.c.currency.label("cost_currency"),
            )
            .select_from(a)
            .outerjoin(rv, rv.c.application_id == a.c.id)
            .outerjoin(d, d.c.id == a.c.decision_id)
            .where(a.c.outcome == "refer")
            .order_by(a.c.applied_at)
            .limit(limit)
        )
        items = []
        for x in self._rows(query):
            income = (x.declared or {}).get("monthly_income_fen")
            items.append(
                ReviewQueueItem(
                    application_id=x.id,
                    borrower_id=x.borrower_id,
                    product_code=x.product_code,
                    applied_at=x.applied_at,
                    decided_on=x.decided_on,
                    decision_id=x.decision_id,
                    reasons=tuple(dict(y) for y in (x.reasons or [])),
                    declared_income=_money(income) if income is not None else None,
                    score=int(x.score) if x.score is not None else None,
                    data_cost=_money(x.cost_minor, x.cost_currency)
                    if x.cost_minor is not None
                    else None,
                    review_status=x.review_status or "",
                    approval_id=x.approval_id,
                )
            )
        return items

    def review_queue_size(self) -> int:
        a = j.credit_applications
        query = sa.select(sa.func.count()).select_from(a).where(a.c.outcome == "refer")
        return int(self._rows(query)[0][0])
