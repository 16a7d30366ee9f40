"""The compliance report: everything in force on a date that breaks a rule in force on it.

What a compliance officer reads each morning (``mobilend compliance report``): every
product whose worst-case loan breaks the cost cap or another product rule; every person
whose debt and unused limits over all their accounts pass the per-borrower cap; every
loan still owed whose APR (or APR plus the penalty it accrues), bullet term or fees
break the rules in force; every joint programme whose own share is below the minimum
and every partner in a programme that is not a licensed, whitelisted institution of an
allowed kind. Each breach names the rule, the figure and the limit (``Breach``).

Rules that fell after a loan was made still apply to it from their date: the penalty is
lowered by end of day (the report shows the rate that accrues), the rest is listed for
the officer to act on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from mobilend.app.compliance.ports import IdentityExposure, OpenLoan
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.apr import AprResult, annual_percentage_rate
from mobilend.domain.compliance import (
    ANY_LICENCE,
    BorrowerExposure,
    Breach,
    CostCapPolicy,
    NoCostCap,
)
from mobilend.domain.funding import OWN_POOL, FunderKind
from mobilend.domain.money import Money
from mobilend.domain.schedules import generate_schedule

#: Loans read per query.
PAGE = 500


class Section:
    PRODUCT = "product"
    BORROWER = "borrower"
    LOAN = "loan"
    PROGRAMME = "programme"
    FUNDER = "funder"
    ALL = (PRODUCT, BORROWER, LOAN, PROGRAMME, FUNDER)


@dataclass(frozen=True, slots=True)
class ReportedBreach:
    section: str  # one of ``Section.ALL``
    subject: str  # product code, borrower accounts, loan id, programme or funder code
    breach: Breach


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    on: dt.date
    rulebook_version: str
    checked: tuple[tuple[str, int], ...]  # (section, how many were checked)
    breaches: tuple[ReportedBreach, ...]

    @property
    def clean(self) -> bool:
        return not self.breaches

    def in_section(self, section: str) -> list[ReportedBreach]:
        return [b for b in self.breaches if b.section == section]

    def to_json(self) -> str:
        document = {
            "date": self.on.isoformat(),
            "rulebook": self.rulebook_version,
            "checked": dict(self.checked),
            "clean": self.clean,
            "breaches": [
                {"section": b.section, **b.breach.to_dict(), "subject": b.subject}
                for b in self.breaches
            ],
        }
        return json.dumps(document, ensure_ascii=False, indent=2)


def compliance_report_in(uow: UnitOfWork, rules: CostCapPolicy, on: dt.date) -> ComplianceReport:
    """Every product, person, loan, programme and partner that breaks a rule in force
    on ``on``. Reads only."""
    found: list[ReportedBreach] = []
    products = uow.lending.products.list()
    for product in products:
        found += _about(Section.PRODUCT, product.code, rules.product_breaches(product, on))
    licences = sorted({p.licence_type for p in products}) or [ANY_LICENCE]
    people = _people_above(uow, rules, licences, on)
    for person in people:
        for licence in sorted(person.licence_types) or [ANY_LICENCE]:
            exposure = BorrowerExposure(person.outstanding_principal, person.unused_limits)
            breaches = rules.line_opening_breaches(
                exposure, Money.zero(exposure.total.currency), licence, on
            )
            found += _about(Section.BORROWER, ", ".join(person.borrower_ids), breaches)
    loans = 0
    after = ""
    while page := uow.compliance.portfolio.open_loans(after, PAGE):
        for loan in page:
            found += _about(Section.LOAN, loan.loan_id, _loan_breaches(rules, loan, on))
        loans += len(page)
        after = page[-1].loan_id
    programmes = uow.funding.funders.programmes()
    funders = {f.code: f for f in uow.funding.funders.list()}
    in_use: set[str] = set()
    for programme in programmes:
        if not programme.enabled:
            continue
        in_use |= set(programme.funder_codes)
        for licence in licences:
            found += _about(
                Section.PROGRAMME,
                programme.code,
                rules.joint_breaches(programme.shares, licence, on),
            )
    partners = [funders[c] for c in sorted(in_use) if c in funders and c != OWN_POOL]
    for funder in partners:
        if funder.kind is FunderKind.OWN_POOL:
            continue
        for licence in licences:
            found += _about(
                Section.FUNDER, funder.code, rules.partner_breaches(funder, licence, on)
            )
    checked = (
        (Section.PRODUCT, len(products)),
        (Section.BORROWER, len(people)),
        (Section.LOAN, loans),
        (Section.PROGRAMME, sum(1 for p in programmes if p.enabled)),
        (Section.FUNDER, len(partners)),
    )
    return ComplianceReport(on, rules.version, checked, tuple(_unique(found)))


def _about(section: str, subject: str, breaches: Sequence[Breach]) -> list[ReportedBreach]:
    return [ReportedBreach(section, subject, b.about(subject)) for b in breaches]


def _unique(found: list[ReportedBreach]) -> list[ReportedBreach]:
    """One line per breach: a rule for every licence type says the same thing once."""
    return list(dict.fromkeys(found))


def _people_above(
    uow: UnitOfWork, rules: CostCapPolicy, licences: Sequence[str], on: dt.date
) -> list[IdentityExposure]:
    """People whose exposure is above the lowest per-borrower cap in force (the exact cap
    of each licence type is applied by the caller)."""
    caps = [rules.borrower_cap(licence, on) for licence in licences]
    return uow.compliance.portfolio.identities_above(on, min(caps, key=lambda m: m.amount))


def _loan_breaches(rules: CostCapPolicy, loan: OpenLoan, on: dt.date) -> list[Breach]:
    """The loan against the rules in force on ``on``, its penalty as end of day accrues it."""
    schedule = generate_schedule(loan.terms)
    if loan.apr_for_cap is not None:
        apr = _recorded(loan.apr_for_cap)
    else:
        apr = annual_percentage_rate(schedule, with_xirr=False)
    try:
        penalty = rules.penalty_rate_for(
            apr, loan.penalty_rate, loan.terms.day_count, loan.licence_type, on
        )
    except NoCostCap:
        penalty = loan.penalty_rate
    return rules.loan_breaches(loan.licence_type, schedule, penalty, on, apr)


def _recorded(apr_for_cap: Decimal) -> AprResult:
    """The APR recorded at the draw, as the checks read it (only ``apr_for_cap`` counts)."""
    return AprResult(
        apr=apr_for_cap,
        effective_annual_rate=apr_for_cap,
        periodic_rate=Decimal(0),
        periods_per_year=Decimal(0),
        actual_day_apr=apr_for_cap,
    )
