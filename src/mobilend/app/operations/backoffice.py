"""Looking records up as staff: search, borrowers, lines, loans, contracts, applications
and decisions — every call checked against the caller's permissions, personal data
masked, and each reveal of one field in the clear written to the audit log first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mobilend.app.onboarding.pii import (
    BANK_CARD,
    BIRTH_DATE,
    NATIONAL_ID,
    PHONE,
    REAL_NAME,
    national_id_problems,
    phone_problems,
)
from mobilend.app.operations.ports import (
    ApplicationRow,
    AuditTrail,
    BackofficeQueries,
    BorrowerRecord,
    ContractRow,
    DecisionDetail,
    LineRow,
    LoanDetail,
    LoanRow,
    PiiField,
    ReviewQueueItem,
    SearchHit,
    StaffActor,
)
from mobilend.app.ports import Clock, PiiVault
from mobilend.domain.borrowers import mask_bank_card, mask_name, mask_national_id, mask_phone
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.staff import Permission, permits, require

#: Vault field name and masking rule of each personal field.
_VAULT_FIELD: Mapping[PiiField, str] = {
    PiiField.PHONE: PHONE,
    PiiField.NAME: REAL_NAME,
    PiiField.NATIONAL_ID: NATIONAL_ID,
    PiiField.BANK_CARD: BANK_CARD,
}
_MASK: Mapping[PiiField, Callable[[str], str]] = {
    PiiField.PHONE: mask_phone,
    PiiField.NAME: mask_name,
    PiiField.NATIONAL_ID: mask_national_id,
    PiiField.BANK_CARD: mask_bank_card,
}
_NATIONAL_ID = re.compile(r"\d{17}[\dXx]|\d{15}")
_RECORD_ID = re.compile(r"[A-Za-z0-9_\-:.]{3,80}")


@dataclass(frozen=True, slots=True)
class BorrowerView:
    borrower_id: str
    status: str
    created_at: dt.datetime
    kyc_verified_at: dt.datetime | None
    birth_date: dt.date | None
    freeze_reason: str
    masked: Mapping[PiiField, str]
    can_reveal: bool


@dataclass(frozen=True, slots=True)
class BorrowerFile:
    """Everything about one borrower a console page shows."""

    borrower: BorrowerView
    lines: tuple[LineRow, ...]
    loans: tuple[LoanRow, ...]
    applications: tuple[ApplicationRow, ...]
    contracts: tuple[ContractRow, ...]


class Backoffice:
    """The read side of the console and the staff API."""

    def __init__(
        self, queries: BackofficeQueries, vault: PiiVault, audit: AuditTrail, clock: Clock
    ) -> None:
        self.queries = queries
        self._vault = vault
        self._audit = audit
        self._clock = clock

    # -- search ----------------------------------------------------------------------
    def search(self, staff: StaffActor, text: str) -> list[SearchHit]:
        """By phone, national ID (through their blind indexes) or any record id."""
        require(staff.roles, Permission.SEARCH)
        query = text.strip()
        if not query or len(query) > 80:
            raise ValidationFailed([Problem("q", "请输入手机号、身份证号或编号 (enter a query)")])
        phone_bidx = id_bidx = None
        compact = re.sub(r"[\s\-]", "", query)
        e164, problems = phone_problems(compact)
        if not problems:
            phone_bidx = self._vault.blind_index(PHONE, e164)
        if _NATIONAL_ID.fullmatch(compact):
            number, _birth, id_problems = national_id_problems(compact)
            if not id_problems:
                id_bidx = self._vault.blind_index(NATIONAL_ID, number)
        if phone_bidx is None and id_bidx is None and not _RECORD_ID.fullmatch(query):
            return []
        hits = self.queries.search(query, phone_bidx, id_bidx)
        if phone_bidx or id_bidx:
            # Looking a person up by who they are is itself access to personal data.
            self._record(
                staff,
                "records.searched_by_identity",
                "search",
                {"by": "phone" if phone_bidx else "national_id", "hits": len(hits)},
            )
        return hits

    # -- borrowers ---------------------------------------------------------------------
    def _view(self, staff: StaffActor, record: BorrowerRecord) -> BorrowerView:
        masked = {}
        for name, sealed in record.sealed.items():
            masked[name] = (
                _MASK[name](self._vault.decrypt(_VAULT_FIELD[name], sealed)) if sealed else ""
            )
        return BorrowerView(
            borrower_id=record.borrower_id,
            status=record.status,
            created_at=record.created_at,
            kyc_verified_at=record.kyc_verified_at,
            # Age matters to every review; the date is sealed at rest like the rest of PII.
            birth_date=(
                dt.date.fromisoformat(self._vault.decrypt(BIRTH_DATE, record.birth_date_enc))
                if record.birth_date_enc
                else None
            ),
            freeze_reason=record.freeze_reason,
            masked=masked,
            can_reveal=permits(staff.roles, Permission.REVEAL_PII),
        )

    def borrower(self, staff: StaffActor, borrower_id: str) -> BorrowerView:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        return self._view(staff, self.queries.borrower(borrower_id))

    def borrower_file(self, staff: StaffActor, borrower_id: str) -> BorrowerFile:
        view = self.borrower(staff, borrower_id)
        q = self.queries
        return BorrowerFile(
            view,
            tuple(q.lines_of(borrower_id)),
            tuple(q.loans_of(borrower_id)),
            tuple(q.applications_of(borrower_id)),
            tuple(q.contracts_of(borrower_id)),
        )

    def borrowers(
        self, staff: StaffActor, status: str | None, cursor: str | None, limit: int = 50
    ) -> tuple[list[BorrowerView], str | None]:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        page = self.queries.borrowers(status, cursor, limit)
        return [self._view(staff, r) for r in page.rows], page.next_cursor

    def reveal(self, staff: StaffActor, borrower_id: str, field: PiiField) -> str:
        """One personal field in the clear; the audit log has the reveal before it is shown."""
        require(staff.roles, Permission.REVEAL_PII)
        sealed = self.queries.borrower(borrower_id).sealed.get(field)
        if not sealed:
            raise NotFound(f"borrower {borrower_id} has no {field.value} on file")
        self._record(staff, "pii.revealed", f"borrower:{borrower_id}", {"field": field.value})
        return self._vault.decrypt(_VAULT_FIELD[field], sealed)

    # -- accounts ----------------------------------------------------------------------
    def line(self, staff: StaffActor, line_id: str) -> tuple[LineRow, list[LoanRow]]:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        return self.queries.line(line_id), self.queries.loans_of_line(line_id)

    def loan(self, staff: StaffActor, loan_id: str) -> LoanDetail:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        return self.queries.loan(loan_id)

    def loans(
        self,
        staff: StaffActor,
        status: str | None,
        bucket: str | None,
        cursor: str | None,
        limit: int = 50,
    ) -> tuple[list[LoanRow], str | None]:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        page = self.queries.loans(status, bucket, cursor, limit)
        return list(page.rows), page.next_cursor

    def application(self, staff: StaffActor, application_id: str) -> ApplicationRow:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        return self.queries.application(application_id)

    def contract(self, staff: StaffActor, contract_id: str) -> ContractRow:
        require(staff.roles, Permission.VIEW_ACCOUNTS)
        return self.queries.contract(contract_id)

    def decision(self, staff: StaffActor, decision_id: str) -> DecisionDetail | None:
        require(staff.roles, Permission.VIEW_DECISIONS)
        return self.queries.decision(decision_id)

    # -- manual review queue ----------------------------------------------------------
    def review_queue(self, staff: StaffActor, limit: int = 100) -> list[ReviewQueueItem]:
        require(staff.roles, Permission.VIEW_REVIEWS)
        return self.queries.review_queue(limit)

    def _record(
        self, staff: StaffActor, action: str, target: str, details: Mapping[str, object]
    ) -> None:
        self._audit.append(
            at=self._clock.now(),
            actor=staff.actor,
            action=action,
            target=target,
            details=dict(details),
        )
