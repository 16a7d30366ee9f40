"""Independent checks after a collections run: every contact that went out is audited
against the conduct rules straight from the contact log (not through the gate that let
it out), and the ledger is verified — each entry balanced, the trial balance zero, and
every loan's balances rebuilt from its postings equal to the loan's own figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.collections_conduct import ConductPolicy, banned_words_in, discloses_debt
from mobilend.domain.ledger import loan_balances

OUT_OF_HOURS = """
    SELECT count(*) FROM collection_contacts c
    LEFT JOIN borrower_contact_settings s ON s.borrower_id = c.borrower_id
    WHERE c.allowed
      AND ((c.at AT TIME ZONE coalesce(s.time_zone, 'Asia/Shanghai'))::time < :start
           OR (c.at AT TIME ZONE coalesce(s.time_zone, 'Asia/Shanghai'))::time >= :end)
"""
OVER_CALL_CAP = """
    SELECT count(*) FROM (
        SELECT borrower_id, local_day FROM collection_contacts
        WHERE allowed AND channel = 'call' AND outcome = 'connected'
        GROUP BY borrower_id, local_day HAVING count(*) > :cap) x
"""
WHILE_PAUSED = """
    SELECT count(*) FROM collection_contacts c
    WHERE c.allowed AND EXISTS (
        SELECT 1 FROM collection_complaints q
        WHERE q.borrower_id = c.borrower_id AND q.received_at <= c.at
          AND (q.reviewed_at IS NULL OR q.reviewed_at > c.at))
"""
THIRD_PARTY = "SELECT count(*) FROM collection_contacts WHERE allowed AND party = 'third_party'"


@dataclass(frozen=True, slots=True)
class ConductAudit:
    contacts_out: int
    violations: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.violations.values())


def audit_conduct(engine: sa.Engine, policy: ConductPolicy | None = None) -> ConductAudit:
    policy = policy or ConductPolicy()
    found: Counter[str] = Counter(
        dict.fromkeys(
            ("contact_hours", "daily_call_cap", "case_paused", "third_party_contact",
             "unapproved_template", "banned_words", "contact_person_disclosure"),
            0,
        )
    )  # fmt: skip
    with engine.connect() as conn:
        scalar = conn.execute
        found["contact_hours"] = scalar(
            sa.text(OUT_OF_HOURS), {"start": policy.contact_from, "end": policy.contact_until}
        ).scalar_one()
        found["daily_call_cap"] = scalar(
            sa.text(OVER_CALL_CAP), {"cap": policy.max_connected_calls}
        ).scalar_one()
        found["case_paused"] = scalar(sa.text(WHILE_PAUSED)).scalar_one()
        found["third_party_contact"] = scalar(sa.text(THIRD_PARTY)).scalar_one()
        rows = conn.execute(
            sa.text("SELECT template, party, channel, body FROM collection_contacts WHERE allowed")
        ).all()
        # Every version that was ever live (approved, or retired since) admits its uses.
        approved: set[tuple[str, str, str]] = set()
        for code, channels, parties in conn.execute(
            sa.text(
                "SELECT code, channels, parties FROM collection_templates"
                " WHERE status IN ('approved', 'retired')"
            )
        ):
            approved.update((code, c, p) for c in channels for p in parties)
    for template, party, channel, body in rows:
        if (template, channel, party) not in approved:
            found["unapproved_template"] += 1
        if banned_words_in(body, policy.banned_words):
            found["banned_words"] += 1
        if party == "contact_person" and discloses_debt(body):
            found["contact_person_disclosure"] += 1
    return ConductAudit(len(rows), {k: int(v) for k, v in found.items()})


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    entries: int
    unbalanced_entries: int
    trial_balance: dict[str, int]  # currency → sum of every posting (must be 0)
    loans_checked: int
    loans_mismatched: list[str]

    @property
    def clean(self) -> bool:
        return (
            self.unbalanced_entries == 0
            and all(v == 0 for v in self.trial_balance.values())
            and not self.loans_mismatched
        )


def verify_ledger(
    engine: sa.Engine, uow_factory: UnitOfWorkFactory, loan_ids: Iterable[str]
) -> LedgerCheck:
    """What ``mobilend ledger verify`` is to check, done here for the simulation's loans."""
    with engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT count(*) FROM journal_entries")).scalar_one()
        unbalanced = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT entry_id FROM postings GROUP BY entry_id, currency"
                " HAVING sum(amount_minor) <> 0) x"
            )
        ).scalar_one()
        trial = {
            str(currency).strip(): int(total)
            for currency, total in conn.execute(
                sa.text("SELECT currency, sum(amount_minor) FROM postings GROUP BY currency")
            )
        }
    mismatched: list[str] = []
    checked = 0
    for loan_id in loan_ids:
        with uow_factory() as uow:
            loan = uow.lending.loans.get(loan_id)
            rebuilt = loan_balances(uow.lending.ledger.entries_for_loan(loan_id), loan_id)
        checked += 1
        if rebuilt != loan.ledger_balances():
            mismatched.append(loan_id)
    return LedgerCheck(int(entries), int(unbalanced), trial, checked, mismatched)
