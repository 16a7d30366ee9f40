"""The simulated world a portfolio runs in: the real platform (journey, payout desk,
end of day, collections) on PostgreSQL, wired with a clock the simulation moves, ids from
a counter (so a seed repeats exactly), the scoring engine answering from the applicants'
dataset rows in process, a rail that settles at once, an SMS sink, and three funders —
the own pool, a partner bank alone, and a joint programme (own 30 %, partner 70 %)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from mobilend.adapters.collections.simulated import MessageSink
from mobilend.adapters.datasources.simulated import SimulatedCreditSource, simulated_sources
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.adapters.ids import SequentialIds
from mobilend.adapters.rails.simulated import SimulatedRail
from mobilend.adapters.vault import FieldVault
from mobilend.app.funding.routing import add_programme, configure_funding, register_funder
from mobilend.app.onboarding.pii import seal
from mobilend.bootstrap.platform import Platform, build_platform
from mobilend.bootstrap.risk import build_risk_engine, risk_model_dir
from mobilend.config import Settings
from mobilend.domain.borrowers import (
    REQUIRED_FOR_CREDIT,
    Borrower,
    BorrowerStatus,
    Consent,
    ConsentPurpose,
    KycProfile,
)
from mobilend.domain.business_day import business_date
from mobilend.domain.funding import OWN_POOL, Funder, FunderKind, Programme, ProgrammeShare
from mobilend.domain.funding import WhitelistStatus as Whitelist
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.sandbox.credit_profiles import DatasetRow
from mobilend.sim.applicants import Person
from mobilend.sim.collections_month import SimClock

PARTNER, JOINT_PARTNER, JOINT_PROGRAMME = "bank_a", "bank_j", "joint_j"


@dataclass
class World:
    platform: Platform
    clock: SimClock
    rail: SimulatedRail
    sink: MessageSink
    rows: dict[str, DatasetRow]  # national ID → the applicant's features (no outcome)
    engine: RiskDecisionEngine
    sources: dict[str, SimulatedCreditSource]
    #: The platform's ids (``sim.applying`` numbers each journey from its own block).
    ids: SequentialIds

    @property
    def db(self) -> sa.Engine:
        return self.platform.engine


def pd_model_dir(settings: Settings, progress: object = None) -> Path:
    """The configured PD model when one is on disk; otherwise a small LightGBM trained
    once from ``data/credit_data.csv`` under ``<var>/models/sim`` (seconds, not minutes)."""
    from mobilend.risk.model.artifact import MANIFEST
    from mobilend.risk.model.candidates import CandidateKind, LightGbmParams
    from mobilend.risk.model.defaults import ensure_default_model
    from mobilend.risk.model.training import TrainingConfig

    configured = risk_model_dir(settings)
    if (configured / MANIFEST).is_file():
        return configured
    config = TrainingConfig(
        folds=2,
        repeats=1,
        n_jobs=1,
        lightgbm=LightGbmParams(n_estimators=60),
        candidates=(CandidateKind.LIGHTGBM,),
    )
    return ensure_default_model(settings.var_path / "models" / "sim", config=config)


def build_world(
    db: sa.Engine,
    vault: FieldVault,
    settings: Settings,
    start: dt.date,
    data_version: str,
    model_dir: Path,
    *,
    ids_from: int = 1 << 80,
    register_funders: bool = True,
) -> World:
    """The world on ``db``. Two worlds may share a database (``sim.arrivals``): each
    counts its ids from its own ``ids_from``, and only one registers the funders."""
    clock = SimClock()
    clock.at(start, 7)
    rail = SimulatedRail(lambda: business_date(clock.now()))
    sink = MessageSink()
    rows: dict[str, DatasetRow] = {}
    sources = simulated_sources(rows, data_version)
    engine = build_risk_engine(
        settings,
        db=db,
        vault=vault,
        sources=sources,
        model_dir=model_dir,
    )
    ids = SequentialIds(ids_from)
    platform = build_platform(
        engine=db,
        settings=settings,
        clock=clock,
        decisions=engine,
        rail=rail,
        messages=sink,
        ids=ids,
        vault=vault,
    )
    if register_funders:
        _funders(platform, start)
    return World(platform, clock, rail, sink, rows, engine, sources, ids)


def _bank(code: str, start: dt.date, priority: int, cost: str) -> Funder:
    return Funder(
        code=code, name=f"合作银行 {code} (partner bank)", kind=FunderKind.BANK,
        licence_no="B0001H", whitelist_status=Whitelist.WHITELISTED,
        whitelisted_from=start - dt.timedelta(days=30), priority=priority,
        cost_of_funds=Decimal(cost), interest_share=Decimal("0.7"),
    )  # fmt: skip


def _funders(platform: Platform, start: dt.date) -> None:
    factory = platform.lending.uow_factory
    register_funder(factory, _bank(PARTNER, start, 20, "0.06"))
    register_funder(factory, _bank(JOINT_PARTNER, start, 30, "0.05"), single_programme=False)
    shares = (
        ProgrammeShare(OWN_POOL, Decimal("0.3")),
        ProgrammeShare(JOINT_PARTNER, Decimal("0.7")),
    )
    add_programme(
        factory,
        Programme(JOINT_PROGRAMME, "联合贷 (joint loan)", shares, 30),
        rules=platform.lending.cost_caps,
        on=start,
    )
    configure_funding(factory, strategy="round_robin")


def onboard(world: World, person: Person, at: dt.datetime) -> None:
    """The person as onboarding leaves them after sign-in, identity check and consents:
    sealed PII, verified card, the consents an application needs."""
    borrower = Borrower(
        borrower_id=person.borrower_id,
        phone=person.phone,
        registered_at=at,
        status=BorrowerStatus.KYC_PASSED,
        kyc=KycProfile(
            real_name=person.name,
            national_id=person.national_id,
            birth_date=person.birth_date,
            bank_card=person.bank_card,
            verified_at=at,
        ),
    )
    world.rows[person.national_id] = person.features
    with SqlUnitOfWork(world.db) as uow:
        uow.onboarding.borrowers.add(seal(borrower, world.platform.vault))
        for purpose in (*REQUIRED_FOR_CREDIT, ConsentPurpose.E_CONTRACT):
            uow.onboarding.borrowers.add_consent(
                Consent.grant(
                    f"C-{person.borrower_id}-{purpose.value}",
                    person.borrower_id,
                    purpose,
                    "v1",
                    at,
                )
            )
        uow.commit()
