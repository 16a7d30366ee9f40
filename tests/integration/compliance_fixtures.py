"""Borrowers with verified identities, lines and loans on PostgreSQL, for compliance tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib

import sqlalchemy as sa
from risk_fixtures import INSTANT, national_id, new_vault
from tests.lending_scenarios import make_product

from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.adapters.vault import FieldVault
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.loans import DrawResult, draw_loan
from mobilend.app.onboarding.pii import seal
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.borrowers import Borrower, BorrowerStatus, KycProfile
from mobilend.domain.compliance import CostCapPolicy, Rule, Setting
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money

OPENED = dt.date(2026, 1, 15)
BIRTH = dt.date(1990, 5, 17)


def lending_under(db: sa.Engine, rules: CostCapPolicy) -> Lending:
    """The lending core on ``db`` checking against ``rules``, with the 12-month cash product."""
    platform = dataclasses.replace(build_lending(engine=db), cost_caps=rules)
    make_product(platform)
    return platform


def caps(*dated: tuple[str, dt.date | None, dt.date | None]) -> CostCapPolicy:
    """A rulebook whose per-borrower cap is ``amount`` from .. until (both included)."""
    return CostCapPolicy(
        settings=[
            Setting(
                Rule.BORROWER_CAP,
                Money(amount),
                effective_from=start or dt.date.min,
                effective_until=until,
            )
            for amount, start, until in dated
        ]
    )


def person_account(
    db: sa.Engine, vault: FieldVault, account: str, person: int, phone_seq: int | None = None
) -> Borrower:
    """An account verified with person ``person``'s national ID (two accounts of one
    person share it)."""
    seq = phone_seq if phone_seq is not None else zlib.crc32(account.encode()) % 10**8
    borrower = Borrower(
        borrower_id=account,
        phone=f"+86138{seq:08d}",
        registered_at=INSTANT,
        status=BorrowerStatus.KYC_PASSED,
        kyc=KycProfile(
            real_name=f"测试{person}",
            national_id=national_id(person, BIRTH),
            birth_date=BIRTH,
            bank_card=f"6222{seq:012d}",
            verified_at=INSTANT,
        ),
    )
    with SqlUnitOfWork(db) as uow:
        uow.onboarding.borrowers.add(seal(borrower, vault))
        uow.commit()
    return borrower


def close_account(db: sa.Engine, account: str) -> None:
    """Close an account (a recycled phone number, say): its loans stay owed."""
    with SqlUnitOfWork(db) as uow:
        sealed = uow.onboarding.borrowers.get(account)
        assert sealed is not None
        uow.onboarding.borrowers.save(dataclasses.replace(sealed, status="closed"))
        uow.commit()


def line_for(
    lending: Lending,
    account: str,
    limit: str,
    on: dt.date = OPENED,
    days: int = 365,
    line_id: str | None = None,
) -> CreditLine:
    new_id = (lambda: line_id) if line_id else lending.new_id
    return open_credit_line(
        lending.uow_factory, lending.cost_caps, new_id, borrower_id=account,
        product_code="cash-12m", limit=Money(limit), opened_on=on,
        expires_on=on + dt.timedelta(days=days), birth_date=BIRTH,
    )  # fmt: skip


def draw(lending: Lending, line: CreditLine, amount: str, on: dt.date = OPENED) -> DrawResult:
    return draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money(amount), periods=12, on=on,
    )  # fmt: skip


__all__ = [
    "BIRTH",
    "OPENED",
    "caps",
    "close_account",
    "draw",
    "lending_under",
    "line_for",
    "new_vault",
    "person_account",
]
