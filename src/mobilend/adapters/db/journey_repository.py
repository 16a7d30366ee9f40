"""PostgreSQL repositories of the borrower journey, grouped as ``SqlJourneyStores`` on the
platform unit of work's connection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import onboarding_tables
from mobilend.adapters.db import tables as t
from mobilend.adapters.db.journey_tables import credit_applications, loan_contracts, notifications
from mobilend.adapters.db.statements import insert_into
from mobilend.app.journey.ports import (
    CreditApplication,
    IdempotencyRecord,
    LoanContract,
    Notification,
    OfferTerms,
    OutboxMessage,
)
from mobilend.app.onboarding.pii import BANK_CARD
from mobilend.app.ports import PiiVault
from mobilend.domain.decisions import DecisionOutcome, DecisionReason
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money
from mobilend.domain.privacy import reduce_ip


def _json(value: Any) -> Any:
    """A plain-JSON copy (tuples → lists, Decimals → strings)."""
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- applications


def _application_from_row(row: sa.Row[Any]) -> CreditApplication:
    return CreditApplication(
        application_id=row.id,
        borrower_id=row.borrower_id,
        product_code=row.product_code,
        outcome=DecisionOutcome(row.outcome),
        decision_id=row.decision_id,
        applied_at=row.applied_at,
        decided_on=row.decided_on,
        limit=Money.from_minor(row.limit_minor, row.currency)
        if row.limit_minor is not None
        else None,
        annual_rate=Decimal(row.annual_rate).normalize() if row.annual_rate is not None else None,
        price_band=row.price_band,
        expires_on=row.expires_on,
        line_id=row.line_id,
        reasons=tuple(DecisionReason(r["code"], r["text_zh"], r["text_en"]) for r in row.reasons),
        versions=dict(row.versions),
        declared=dict(row.declared),
    )


# Statements built once (``adapters.db.statements``).
_APPLICATIONS_OF = (
    sa.select(credit_applications)
    .where(credit_applications.c.borrower_id == sa.bindparam("borrower_id"))
    .order_by(credit_applications.c.applied_at.desc(), credit_applications.c.id.desc())
)
_LOCK_APPLICANT = (
    sa.select(t.borrowers.c.id)
    .where(t.borrowers.c.id == sa.bindparam("borrower_id"))
    .with_for_update()
)


class SqlCreditApplicationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, application: CreditApplication) -> None:
        a = application
        self._conn.execute(
            insert_into(credit_applications),
            dict(
                id=a.application_id,
                borrower_id=a.borrower_id,
                product_code=a.product_code,
                outcome=str(a.outcome),
                decision_id=a.decision_id,
                applied_at=a.applied_at,
                decided_on=a.decided_on,
                limit_minor=a.limit.to_minor() if a.limit is not None else None,
                currency=a.limit.currency if a.limit is not None else "CNY",
                annual_rate=a.annual_rate,
                price_band=a.price_band,
                expires_on=a.expires_on,
                line_id=a.line_id,
                reasons=[dataclasses.asdict(r) for r in a.reasons],
                versions=_json(dict(a.versions)),
                declared=_json(dict(a.declared)),
            ),
        )

    def get(self, application_id: str) -> CreditApplication:
        row = self._conn.execute(
            sa.select(credit_applications).where(credit_applications.c.id == application_id)
        ).first()
        if row is None:
            raise NotFound(f"application {application_id} not found")
        return _application_from_row(row)

    def for_borrower(self, borrower_id: str) -> list[CreditApplication]:
        rows = self._conn.execute(_APPLICATIONS_OF, {"borrower_id": borrower_id})
        return [_application_from_row(r) for r in rows]

    def by_line(self, line_id: str) -> CreditApplication | None:
        row = self._conn.execute(
            sa.select(credit_applications).where(credit_applications.c.line_id == line_id)
        ).first()
        return _application_from_row(row) if row is not None else None

    def lock_applicant(self, borrower_id: str) -> None:
        self._conn.execute(_LOCK_APPLICANT, {"borrower_id": borrower_id})


# --------------------------------------------------------------------------- contracts


def _contract_from_row(row: sa.Row[Any]) -> LoanContract:
    return LoanContract(
        contract_id=row.id,
        borrower_id=row.borrower_id,
        line_id=row.line_id,
        status=row.status,
        template_version=row.template_version,
        body=row.body,
        sha256=row.sha256,
        terms=OfferTerms.from_state(row.terms),
        created_at=row.created_at,
        offer_date=row.offer_date,
        signed_at=row.signed_at,
        ip_address=row.ip_address,
        device_id=row.device_id,
        loan_id=row.loan_id,
    )


def _contract_values(c: LoanContract) -> dict[str, Any]:
    return {
        "borrower_id": c.borrower_id,
        "line_id": c.line_id,
        "status": c.status,
        "template_version": c.template_version,
        "body": c.body,
        "sha256": c.sha256,
        "terms": _json(c.terms.to_state()),
        "offer_date": c.offer_date,
        "created_at": c.created_at,
        "signed_at": c.signed_at,
        "ip_address": reduce_ip(c.ip_address),  # its network only (domain.privacy)
        "device_id": c.device_id,
        "loan_id": c.loan_id,
    }


_CONTRACT = sa.select(loan_contracts).where(loan_contracts.c.id == sa.bindparam("contract_id"))
_CONTRACT_FOR_UPDATE = _CONTRACT.with_for_update()


class SqlContractRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, contract: LoanContract) -> None:
        self._conn.execute(
            insert_into(loan_contracts), dict(id=contract.contract_id, **_contract_values(contract))
        )

    def get(self, contract_id: str, *, for_update: bool = False) -> LoanContract:
        query = _CONTRACT_FOR_UPDATE if for_update else _CONTRACT
        row = self._conn.execute(query, {"contract_id": contract_id}).first()
        if row is None:
            raise NotFound(f"contract {contract_id} not found")
        return _contract_from_row(row)

    def save(self, contract: LoanContract) -> None:
        self._conn.execute(
            loan_contracts.update()
            .where(loan_contracts.c.id == contract.contract_id)
            .values(**_contract_values(contract))
        )

    def for_borrower(self, borrower_id: str) -> list[LoanContract]:
        rows = self._conn.execute(
            sa.select(loan_contracts)
            .where(loan_contracts.c.borrower_id == borrower_id)
            .order_by(loan_contracts.c.created_at.desc(), loan_contracts.c.id.desc())
        )
        return [_contract_from_row(r) for r in rows]

    def by_loan(self, loan_id: str) -> LoanContract | None:
        row = self._conn.execute(
            sa.select(loan_contracts).where(loan_contracts.c.loan_id == loan_id)
        ).first()
        return _contract_from_row(row) if row is not None else None


# --------------------------------------------------------------------------- notifications


def _notification_from_row(row: sa.Row[Any]) -> Notification:
    return Notification(
        notification_id=row.id,
        borrower_id=row.borrower_id,
        kind=row.kind,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        created_at=row.created_at,
        channel=row.channel,
        status=row.status,
        gateway_reference=row.gateway_reference,
        sent_at=row.sent_at,
    )


# Statements built once (``adapters.db.statements``): every notice takes these.
_NOTIFICATION = sa.select(notifications).where(
    notifications.c.id == sa.bindparam("notification_id")
)
_SAVE_NOTIFICATION = notifications.update().where(notifications.c.id == sa.bindparam("key_id"))


class SqlNotificationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, notification: Notification) -> None:
        n = notification
        self._conn.execute(
            insert_into(notifications),
            dict(
                id=n.notification_id,
                borrower_id=n.borrower_id,
                kind=n.kind,
                channel=n.channel,
                title_zh=n.title_zh,
                title_en=n.title_en,
                body_zh=n.body_zh,
                body_en=n.body_en,
                status=n.status,
                gateway_reference=n.gateway_reference,
                created_at=n.created_at,
                sent_at=n.sent_at,
            ),
        )

    def get(self, notification_id: str) -> Notification | None:
        row = self._conn.execute(_NOTIFICATION, {"notification_id": notification_id}).first()
        return _notification_from_row(row) if row is not None else None

    def save(self, notification: Notification) -> None:
        self._conn.execute(
            _SAVE_NOTIFICATION,
            {
                "key_id": notification.notification_id,
                "status": notification.status,
                "gateway_reference": notification.gateway_reference,
                "sent_at": notification.sent_at,
            },
        )

    def for_borrower(self, borrower_id: str, limit: int = 100) -> list[Notification]:
        rows = self._conn.execute(
            sa.select(notifications)
            .where(notifications.c.borrower_id == borrower_id)
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .limit(limit)
        )
        return [_notification_from_row(r) for r in rows]


# --------------------------------------------------------------------------- outbox


def _outbox_from_row(row: sa.Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        message_id=row.id,
        topic=row.topic,
        borrower_id=row.borrower_id,
        payload=dict(row.payload),
        idempotency_key=row.idempotency_key,
        attempts=row.attempts,
        status=row.status,
        next_attempt_at=row.next_attempt_at,
    )


_CLAIM = (
    sa.select(t.outbox)
    .where(
        t.outbox.c.id.in_(sa.bindparam("ids", expanding=True)),
        t.outbox.c.topic.in_(sa.bindparam("topics", expanding=True)),
        t.outbox.c.status == "pending",
    )
    .order_by(t.outbox.c.id)
    .with_for_update(skip_locked=True)
)
_MARK_SENT = (
    t.outbox.update()
    .where(t.outbox.c.id == sa.bindparam("message_id"))
    .values(status="sent", attempts=t.outbox.c.attempts + 1, last_error=None)
)


class SqlOutboxRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, message: OutboxMessage) -> None:
        values: dict[str, Any] = {
            "id": message.message_id,
            "topic": message.topic,
            "borrower_id": message.borrower_id,
            "payload": _json(dict(message.payload)),
            "idempotency_key": message.idempotency_key,
            "status": message.status,
            "attempts": message.attempts,
        }
        if message.next_attempt_at is not None:
            values["next_attempt_at"] = message.next_attempt_at
        self._conn.execute(insert_into(t.outbox), values)

    def claim(self, message_ids: Sequence[str], topics: Sequence[str]) -> list[OutboxMessage]:
        if not message_ids:
            return []
        rows = self._conn.execute(_CLAIM, {"ids": list(message_ids), "topics": list(topics)})
        return [_outbox_from_row(r) for r in rows]

    def due(self, now: dt.datetime, topics: Sequence[str], limit: int = 100) -> list[OutboxMessage]:
        rows = self._conn.execute(
            sa.select(t.outbox)
            .where(
                t.outbox.c.status == "pending",
                t.outbox.c.topic.in_(list(topics)),
                t.outbox.c.next_attempt_at <= now,
            )
            .order_by(t.outbox.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_outbox_from_row(r) for r in rows]

    def mark_sent(self, message_id: str) -> None:
        self._conn.execute(_MARK_SENT, {"message_id": message_id})

    def mark_retry(
        self, message_id: str, attempts: int, next_attempt_at: dt.datetime, error: str, dead: bool
    ) -> None:
        self._conn.execute(
            t.outbox.update()
            .where(t.outbox.c.id == message_id)
            .values(
                status="dead" if dead else "pending",
                attempts=attempts,
                next_attempt_at=next_attempt_at,
                last_error=error[:500],
            )
        )


# --------------------------------------------------------------------------- idempotency


class SqlIdempotencyRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def claim(
        self, key: str, scope: str, borrower_id: str | None, request_hash: str
    ) -> IdempotencyRecord | None:
        # ON CONFLICT waits for a concurrent claim of the same key to commit or roll back.
        inserted = self._conn.execute(
            pg_insert(t.idempotency_keys)
            .values(key=key, scope=scope, borrower_id=borrower_id, request_hash=request_hash)
            .on_conflict_do_nothing(index_elements=["key", "scope"])
            .returning(t.idempotency_keys.c.key)
        ).first()
        if inserted is not None:
            return None
        row = self._conn.execute(
            sa.select(t.idempotency_keys).where(
                t.idempotency_keys.c.key == key, t.idempotency_keys.c.scope == scope
            )
        ).one()
        return IdempotencyRecord(
            row.key,
            row.scope,
            row.borrower_id,
            row.request_hash,
            dict(row.response) if row.response is not None else None,
        )

    def complete(self, key: str, scope: str, response: Mapping[str, Any]) -> None:
        self._conn.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == key, t.idempotency_keys.c.scope == scope)
            .values(response=_json(dict(response)))
        )


# --------------------------------------------------------------------------- payee cards


class SqlPayeeCards:
    """The tail of a borrower's verified card, opened with the PII vault on the unit of
    work's own connection (no second connection while its transaction holds locks)."""

    def __init__(self, conn: sa.Connection, vault: PiiVault | None) -> None:
        self._conn = conn
        self._vault = vault

    def card_tail(self, borrower_id: str) -> str:
        if self._vault is None:
            return ""
        b = onboarding_tables.borrowers
        sealed = self._conn.execute(
            sa.select(b.c.bank_card_enc).where(b.c.id == borrower_id)
        ).scalar_one_or_none()
        return self._vault.decrypt(BANK_CARD, sealed)[-4:] if sealed else ""


# --------------------------------------------------------------------------- unit of work


class SqlJourneyStores:
    """The journey's store group, bound to one transaction's connection. ``vault`` opens
    the card tail a payout notice names (without it: no tail)."""

    def __init__(self, conn: sa.Connection, vault: PiiVault | None = None) -> None:
        self.applications = SqlCreditApplicationRepository(conn)
        self.contracts = SqlContractRepository(conn)
        self.notifications = SqlNotificationRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.payees = SqlPayeeCards(conn, vault)
