"""Helpers for the risk engine on PostgreSQL: a test PII vault, a small PD model trained
once per process from the shipped data, and borrowers with KYC and open credit lines."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

import sqlalchemy as sa
from stdnum.cn import ric

from mobilend.adapters.db.journey_tables import credit_applications
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.app.lending.catalogue import DEMO_PRODUCTS
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.products import ensure_product
from mobilend.app.onboarding.pii import seal
from mobilend.domain.borrowers import (
    REQUIRED_FOR_CREDIT,
    Borrower,
    BorrowerStatus,
    Consent,
    KycProfile,
)
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.products_state import product_from_state

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = REPO_ROOT / "data" / "credit_data.csv"
INSTANT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def new_vault(ring: KeyRing | None = None) -> FieldVault:
    return FieldVault(ring or KeyRing.generate("k1"), b"\x5a" * 32)


@functools.cache
def small_model_dir() -> Path:
    """A PD model trained on ``data/credit_data.csv`` with few trees and folds (seconds, not
    minutes), once per test process; the artifact is the same kind the service loads."""
    from mobilend.risk.model.candidates import CandidateKind, LightGbmParams
    from mobilend.risk.model.defaults import ensure_default_model
    from mobilend.risk.model.training import TrainingConfig

    root = Path(tempfile.mkdtemp(prefix="mobilend-model-"))
    atexit.register(shutil.rmtree, root, True)
    config = TrainingConfig(
        folds=2,
        repeats=1,
        n_jobs=1,
        lightgbm=LightGbmParams(n_estimators=20),
        candidates=(CandidateKind.LIGHTGBM,),
    )
    return ensure_default_model(root / "model", DATA_FILE, config=config)


def national_id(seq: int, birth: dt.date = dt.date(1990, 5, 17)) -> str:
    body = f"310104{birth:%Y%m%d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def seed_borrower(db: sa.Engine, vault: FieldVault, seq: int) -> Borrower:
    """A borrower who passed KYC, stored sealed as onboarding stores them."""
    birth = dt.date(1990, 5, 17)
    borrower = Borrower(
        borrower_id=f"B-{seq:05d}",
        phone=f"+86139{seq:08d}",
        registered_at=INSTANT,
        status=BorrowerStatus.KYC_PASSED,
        kyc=KycProfile(
            real_name=f"测试{seq}",
            national_id=national_id(seq, birth),
            birth_date=birth,
            bank_card=f"6222{seq:012d}",
            verified_at=INSTANT,
        ),
    )
    with SqlUnitOfWork(db) as uow:
        uow.onboarding.borrowers.add(seal(borrower, vault))
        for purpose in REQUIRED_FOR_CREDIT:  # what an application needed: reviews need it too
            uow.onboarding.borrowers.add_consent(
                Consent.grant(
                    f"C-{seq}-{purpose.value}", borrower.borrower_id, purpose, "v1", INSTANT
                )
            )
        uow.commit()
    return borrower


def ensure_products(db: sa.Engine, on: dt.date) -> None:
    factory = SqlUnitOfWorkFactory(db)
    for definition in DEMO_PRODUCTS:
        product = product_from_state(dict(definition))
        ensure_product(factory, product, on=on, cost_caps=CostCapPolicy())


def open_line(
    db: sa.Engine,
    borrower_id: str,
    *,
    limit: str,
    opened_on: dt.date,
    product: str = "cash",
    income_fen: int | None = 1_000_000,
    line_id: str | None = None,
) -> CreditLine:
    """An active line, with the application that opened it (which declares the income)."""
    ensure_products(db, opened_on)
    ident = line_id or f"L-{borrower_id}"
    line = open_credit_line(
        SqlUnitOfWorkFactory(db),
        CostCapPolicy(),
        lambda: ident,
        borrower_id=borrower_id,
        product_code=product,
        limit=Money(limit),
        opened_on=opened_on,
        expires_on=opened_on + dt.timedelta(days=365),
    )
    with db.begin() as conn:
        conn.execute(
            credit_applications.insert().values(
                id=f"APP-{ident}",
                borrower_id=borrower_id,
                product_code=product,
                outcome="approve",
                decision_id=f"DEC-APP-{ident}",
                applied_at=INSTANT,
                decided_on=opened_on,
                limit_minor=Money(limit).to_minor(),
                annual_rate="0.18",
                line_id=ident,
                declared={"monthly_income_fen": income_fen} if income_fen is not None else {},
            )
        )
    return line
