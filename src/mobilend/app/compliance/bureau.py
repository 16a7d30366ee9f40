"""Credit-bureau reporting: each month, every loan's balance and repayment status at the
month's end, in the layout of ``docs/bureau.md``, with corrections for past months.

A month's records are rebuilt from what is dated in it (``BureauStore.loan_facts``), so
exporting a month again gives the same records unless something dated in it changed
since — a repayment reversed, a transfer matched late, a loan cancelled. Each export
also rebuilds the months already sent (up to ``LOOKBACK_MONTHS`` back) and compares
them with what was sent: a record that differs goes out again as a correction (``C``),
one that no longer exists as a deletion (``D``). What was sent is stored without the
name and ID number (they are added when the file is written), so the database keeps no
clear personal data for it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mobilend.app.compliance.ports import BureauSubmission, LoanMonthFacts, ReportedLoan
from mobilend.app.ports import PiiVault
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import Money

LAYOUT_VERSION = "MLB-1"
SEPARATOR = "|"
#: How far back an export looks for months whose records changed.
LOOKBACK_MONTHS = 24
#: Days past due per status step: 1 = 1–30 days … 6 = 151–180, 7 = over 180.
BUCKET_DAYS = 30

REGULAR, CORRECTION, DELETION = "A", "C", "D"

#: The fields of an account record after the record type, in layout order. ``name`` and
#: ``id_number`` are filled from the vault when the file is written.
FIELDS = (
    "month", "account_no", "customer_no", "name", "id_type", "id_number", "product",
    "currency", "open_date", "final_due_date", "credit_amount", "periods", "frequency",
    "method", "principal_balance", "charges_balance", "past_due_amount", "days_past_due",
    "installments_past_due", "status", "last_payment_date", "last_payment_amount",
    "closed_date",
)  # fmt: skip
PERSONAL = frozenset({"name", "id_number"})
RESIDENT_ID = "10"  # id_type: resident identity card


@dataclass(frozen=True, slots=True)
class BureauFile:
    """One submission: its lines (header, records, trailer) and what it counts."""

    submission: BureauSubmission
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """``2026-03`` → (1 March, 31 March); refused unless ``YYYY-MM``."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = dt.date(year, number, 1)
    except ValueError:
        raise ValidationFailed(
            [Problem("month", f"月份格式应为 YYYY-MM / expected YYYY-MM: {month}")]
        ) from None
    if len(month) != 7:
        raise ValidationFailed([Problem("month", f"expected YYYY-MM: {month}")])
    return first, first.replace(day=calendar.monthrange(year, number)[1])


def _earlier(month: str, months: int) -> str:
    first, _ = month_bounds(month)
    index = first.year * 12 + first.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _fen(amount: Money | None) -> str:
    return "" if amount is None else str(amount.to_minor())


def _day(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%Y%m%d")


def repayment_status(facts: LoanMonthFacts, month_end: dt.date) -> tuple[str, int]:
    """The month's status code and days past due: ``C`` paid off or ``W`` written off by
    month end, else ``N`` when nothing is past due, else ``1``–``7`` by 30-day bucket."""
    if facts.closed_on is not None and facts.closed_on <= month_end:
        if facts.status == "written_off":
            return "W", 0
        if facts.status == "closed":
            return "C", 0
    due = facts.oldest_unpaid_due_on
    days = (month_end - due).days if due is not None else 0
    if days <= 0:
        return "N", 0
    return str(min(7, (days - 1) // BUCKET_DAYS + 1)), days


def account_record(facts: LoanMonthFacts, month: str, month_end: dt.date) -> ReportedLoan:
    """The loan's record for the month, without the personal fields."""
    status, days = repayment_status(facts, month_end)
    past_due = (facts.due_to_date - facts.paid_to_date).max(Money.zero(facts.currency))
    if status in ("C", "W"):
        past_due = Money.zero(facts.currency)
    values = {
        "month": month,
        "account_no": facts.loan_id,
        "customer_no": facts.borrower_id,
        "id_type": RESIDENT_ID,
        "product": facts.product_code,
        "currency": facts.currency,
        "open_date": _day(facts.opened_on),
        "final_due_date": _day(facts.final_due_on),
        "credit_amount": _fen(facts.principal),
        "periods": str(facts.periods),
        "frequency": facts.frequency,
        "method": facts.method,
        "principal_balance": _fen(facts.principal_balance),
        "charges_balance": _fen(facts.charges_balance),
        "past_due_amount": _fen(past_due),
        "days_past_due": str(days),
        "installments_past_due": str(facts.installments_unpaid if days else 0),
        "status": status,
        "last_payment_date": _day(facts.last_payment_on),
        "last_payment_amount": _fen(facts.last_payment),
        "closed_date": _day(facts.closed_on if status in ("C", "W") else None),
    }
    fields = tuple((name, values[name]) for name in FIELDS if name not in PERSONAL)
    return ReportedLoan(month, facts.loan_id, facts.borrower_id, fields)


def month_records(uow: UnitOfWork, month: str) -> dict[str, ReportedLoan]:
    start, end = month_bounds(month)
    return {
        facts.loan_id: account_record(facts, month, end)
        for facts in uow.compliance.bureau.loan_facts(start, end)
    }


def export_bureau_month_in(
    uow: UnitOfWork,
    vault: PiiVault,
    new_id: Callable[[], str],
    *,
    month: str,
    now: dt.datetime,
    lender_code: str,
    lookback_months: int = LOOKBACK_MONTHS,
) -> BureauFile:
    """The month's submission: every loan's record for ``month`` (``A``), corrections
    (``C``) and deletions (``D``) of earlier months already sent; stored as sent."""
    _, end = month_bounds(month)
    if end >= now.date():
        raise ValidationFailed(
            [Problem("month", f"月份尚未结束 / {month} has not ended yet (it ends {end})")]
        )
    store = uow.compliance.bureau
    regular = sorted(month_records(uow, month).values(), key=lambda r: r.loan_id)
    corrections: list[ReportedLoan] = []
    deletions: list[tuple[str, str]] = []
    oldest = _earlier(month, lookback_months)
    for earlier in store.reported_months(before=month):
        if earlier < oldest:
            continue
        sent = store.reported(earlier)
        rebuilt = month_records(uow, earlier)
        for loan_id, record in sorted(rebuilt.items()):
            before = sent.get(loan_id)
            if before is None or before.fields != record.fields:
                corrections.append(record)
        deletions += [(earlier, loan_id) for loan_id in sorted(set(sent) - set(rebuilt))]
    submission_id = new_id()
    lines = [SEPARATOR.join(("H", lender_code, month, now.isoformat(), LAYOUT_VERSION))]
    identities = _identities(uow, vault, [*regular, *corrections])
    lines += [_line(REGULAR, r, identities) for r in regular]
    lines += [_line(CORRECTION, r, identities) for r in corrections]
    lines += [SEPARATOR.join((DELETION, m, loan_id)) for m, loan_id in deletions]
    balance = sum(int(dict(r.fields)["principal_balance"]) for r in regular)
    lines.append(
        SEPARATOR.join(
            ("T", str(len(regular)), str(len(corrections)), str(len(deletions)), str(balance))
        )
    )
    digest = hashlib.sha256(("\n".join(lines) + "\n").encode("utf-8")).hexdigest()
    submission = BureauSubmission(
        submission_id, month, now, len(regular), len(corrections), len(deletions), digest
    )
    store.record(submission, [*regular, *corrections], deletions)
    return BureauFile(submission, tuple(lines))


def _identities(
    uow: UnitOfWork, vault: PiiVault, records: Sequence[ReportedLoan]
) -> dict[str, tuple[str, str]]:
    """Name and resident ID number per borrower, opened from the vault."""
    found: dict[str, tuple[str, str]] = {}
    for borrower_id in sorted({r.borrower_id for r in records}):
        sealed = uow.onboarding.borrowers.get(borrower_id)
        name = id_number = ""
        if sealed is not None and sealed.name_enc and sealed.national_id_enc:
            name = vault.decrypt("real_name", sealed.name_enc)
            id_number = vault.decrypt("national_id", sealed.national_id_enc)
        found[borrower_id] = (name, id_number)
    return found


def _line(kind: str, record: ReportedLoan, identities: dict[str, tuple[str, str]]) -> str:
    name, id_number = identities.get(record.borrower_id, ("", ""))
    values = {**dict(record.fields), "name": name, "id_number": id_number}
    return SEPARATOR.join((kind, *(values[field].replace(SEPARATOR, " ") for field in FIELDS)))
