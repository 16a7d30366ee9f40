"""What one person owes and may still draw, by identity, and the checks that use it.

Every door that adds to a person's debt or commitment — a line opened (journey,
``mobilend demo``, seeding), a limit raised (a line review's accepted increase), a
draw (journey, CLI) — runs one of the cores here inside its unit of work. Each locks
the identity first, so two requests for one person never both pass the cap, then
sums every account of the identity (``BorrowerExposure``) and asks the rulebook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.compliance import BorrowerExposure, CostCapPolicy
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class HeldExposure:
    """The identity (locked for the rest of the unit of work) and its exposure."""

    identity: str
    exposure: BorrowerExposure


def identity_exposure_in(
    uow: UnitOfWork,
    borrower_id: str,
    on: dt.date,
    *,
    currency: str,
    leave_out_line: str | None = None,
    lock: bool = True,
) -> HeldExposure:
    """Lock the borrower's identity and sum its exposure on ``on``: the outstanding
    principal of every loan and the unused limit of every usable line of every account
    of the person. ``leave_out_line``: a line whose limit is about to change. ``lock``:
    False only to read (the figure may move before anything is decided on it)."""
    exposures = uow.compliance.exposures
    identity = exposures.identity_of(borrower_id)
    if lock:
        exposures.lock(identity)
    lines = [line for line in exposures.lines_of(identity) if line.line_id != leave_out_line]
    principal = exposures.outstanding_principal_of(identity)
    return HeldExposure(identity, BorrowerExposure.of(lines, principal, on, currency))


def check_line_opening_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    *,
    borrower_id: str,
    limit: Money,
    licence_type: str,
    on: dt.date,
    birth_date: dt.date | None = None,
    is_student: bool = False,
) -> HeldExposure:
    """Refuse a new line that would take the person above the per-borrower cap
    (``BorrowerCapExceeded``), or a borrower the rules do not lend to
    (``BorrowerNotEligible``: under age, a student). The age is checked when known:
    the journey passes the verified birth date; an account with no verified identity
    is a lending-core record (tests, the demo) and opens no line in the journey."""
    if birth_date is not None:
        rules.check_borrower(birth_date, is_student, licence_type, on)
    held = identity_exposure_in(uow, borrower_id, on, currency=limit.currency)
    rules.check_line_opening(held.exposure, limit, licence_type, on)
    return held


def check_limit_raise_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    *,
    borrower_id: str,
    line_id: str,
    new_limit: Money,
    used: Money,
    licence_type: str,
    on: dt.date,
) -> HeldExposure:
    """A line's limit rising to ``new_limit``: the line is left out of the exposure and
    what it adds is the new limit less what is drawn on it (its loans already count)."""
    held = identity_exposure_in(
        uow, borrower_id, on, currency=new_limit.currency, leave_out_line=line_id
    )
    adds = (new_limit - used).max(Money.zero(new_limit.currency))
    rules.check_line_opening(held.exposure, adds, licence_type, on)
    return held


def check_draw_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    *,
    borrower_id: str,
    amount: Money,
    licence_type: str,
    on: dt.date,
) -> HeldExposure:
    """Refuse a draw after which the person's principal balance, over every account,
    would be above the per-borrower cap."""
    held = identity_exposure_in(uow, borrower_id, on, currency=amount.currency)
    rules.check_draw(held.exposure, amount, licence_type, on)
    return held
