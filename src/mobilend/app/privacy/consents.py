"""Consent per purpose, and what withdrawing one stops.

Each consent covers the processing the register names (``register.PURPOSES``); the
processing itself checks the consent when it runs, so a withdrawal takes effect at once:

* ``credit_report_query`` and ``data_use`` — no application is decided
  (``app.journey.applications``) and no line is re-scored or the bureau queried again
  (``app.reviews.line_reviews``); loans already drawn run on (contract basis);
* ``e_contract`` — no new contract is signed (``app.journey.contracts``);
* ``marketing`` — no marketing message leaves (``app.servicing.notifications``, checked
  as each message is sent).

``withdraw_consent_in`` withdraws and says what stopped, for the borrower's page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mobilend.app.privacy.register import Purpose, consent_stops
from mobilend.app.unit_of_work import UnitOfWork, command
from mobilend.domain.borrowers import Consent, ConsentPurpose, active_consents
from mobilend.domain.errors import NotFound, Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class Withdrawal:
    consent: Consent
    stops: tuple[Purpose, ...]  # the processing that no longer runs


def withdrawal_effects(purpose: str) -> tuple[Purpose, ...]:
    """What withdrawing the consent for ``purpose`` stops."""
    return tuple(consent_stops(_purpose(purpose)))


def _purpose(purpose: str) -> ConsentPurpose:
    try:
        return ConsentPurpose(purpose)
    except ValueError:
        raise ValidationFailed(
            [Problem("purpose", "未知的授权用途 (unknown consent purpose)")]
        ) from None


def withdraw_consent_in(
    uow: UnitOfWork, borrower_id: str, purpose: str, at: dt.datetime
) -> Withdrawal:
    """Withdraw the borrower's active consent for ``purpose`` (``NotFound`` if none)."""
    chosen = _purpose(purpose)
    borrowers = uow.onboarding.borrowers
    if borrowers.get(borrower_id) is None:
        raise NotFound(f"borrower {borrower_id} not found")
    held = active_consents(borrowers.consents(borrower_id)).get(chosen)
    if held is None:
        raise NotFound(f"no active {chosen.value} consent for borrower {borrower_id}")
    held.withdraw(max(at, held.granted_at))
    borrowers.save_consent(held)
    return Withdrawal(held, tuple(consent_stops(chosen)))


withdraw_consent = command(withdraw_consent_in)
