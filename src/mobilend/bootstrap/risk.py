"""The risk engine's part of the composition root.

``build_risk_engine`` wires ``RiskDecisionEngine`` for the service: the PD model from
``settings.model_dir``, the policy files (``settings.policy_dir`` or the shipped ones),
the market overlay beside them, an optional champion/challenger split declared in the
policy's ``active.json``, the credit data sources over HTTP, and PostgreSQL stores for
the report cache, fraud signals and decision records (personal data sealed by the PII
vault). ``build_line_reviews`` gives the periodic line review the jobs run;
``build_replay_engine`` replays stored decisions (``mobilend decision replay``).

A challenger is declared in ``active.json`` (paths relative to the working directory)::

    "challenger": {"name": "v2-trial", "share": "0.10",
                   "policy_version": "v2", "model_dir": "var/models/challenger"}
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db.risk_repository import SqlDecisionRecordStore
from mobilend.adapters.vault import FieldVault
from mobilend.app.ports import Clock
from mobilend.app.reviews.line_reviews import LineReviews, LineReviewSummary
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.bootstrap.infra import database_engine, load_rulebook, load_vault
from mobilend.bootstrap.sandboxes import start_credit_data_sandbox
from mobilend.config import Settings, get_settings
from mobilend.domain.decisions import Applicant
from mobilend.domain.products import LoanProduct
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.policy import PolicyBook
from mobilend.risk.ports import CreditDataSource
from mobilend.risk.scoring import Challenger, MarketOverlay, Scorer


def risk_model_dir(settings: Settings) -> Path:
    """Where the scoring engine's PD model lives: the one a promotion named in the policy
    folder's ``active.json``, else ``model_dir``, else ``<var_dir>/models/default``."""
    from mobilend.adapters.risk_versions import promoted_model_dir

    if settings.policy_dir is not None:
        promoted = promoted_model_dir(settings.policy_dir.expanduser().resolve())
        if promoted is not None:
            return promoted
    if settings.model_dir is not None:
        return settings.model_dir.expanduser().resolve()
    return settings.var_path / "models" / "default"


def policy_book(settings: Settings) -> PolicyBook:
    from mobilend.risk.policy import PolicyBook

    return PolicyBook(settings.policy_dir) if settings.policy_dir is not None else PolicyBook()


def market_overlay(book: PolicyBook) -> MarketOverlay:
    """The overlay file beside the policy files (the shipped one if that folder has none)."""
    from mobilend.risk.scoring import MarketOverlay

    path = book.root / "market_overlay.json"
    return MarketOverlay.load(path) if path.is_file() else MarketOverlay.load()


def _db(settings: Settings, db: sa.Engine | None) -> sa.Engine:
    return db if db is not None else database_engine(settings)


def _load_scorer(directory: Path) -> Scorer:
    from mobilend.risk.model.artifact import MANIFEST, load_model

    if not (directory / MANIFEST).is_file():
        raise FileNotFoundError(
            f"no PD model at {directory}; run `mobilend model ensure-default` "
            "(or `mobilend model train --out DIR` and set MOBILEND_MODEL_DIR)"
        )
    return load_model(directory)


def load_challenger(book: PolicyBook) -> Challenger | None:
    """The challenger declared in the policy's ``active.json``, checked against the book."""
    from mobilend.risk.scoring import Challenger

    index_path = book.root / "active.json"
    if not index_path.is_file():
        return None
    spec = json.loads(index_path.read_text("utf-8")).get("challenger")
    if not spec:
        return None
    version = spec.get("policy_version") or None
    if version is not None:
        for scenario in book.active:
            book.get(scenario, version)  # fails now, not on the first decision
    model = spec.get("model_dir") or None
    return Challenger(
        name=str(spec["name"]),
        share=Decimal(str(spec["share"])),
        scorer=_load_scorer(Path(model).expanduser().resolve()) if model else None,
        policy_version=version,
    )


def build_risk_engine(
    settings: Settings | None = None,
    *,
    db: sa.Engine | None = None,
    vault: FieldVault | None = None,
    credit_data_url: str | None = None,
    for_reviews: bool = False,
    sources: Mapping[str, CreditDataSource] | None = None,
    model_dir: Path | None = None,
) -> RiskDecisionEngine:
    """The scoring engine on PostgreSQL stores. ``for_reviews``: fraud signals are read
    but a re-decision leaves no sighting (it is not a new application). ``sources``
    replace the credit data service (simulations answer in process); ``model_dir`` the
    configured PD model."""
    from mobilend.adapters.datasources import DEFAULT_SPECS, CostMeter, build_http_sources
    from mobilend.adapters.db.risk_repository import (
        SqlDecisionRecordStore,
        SqlFraudSignalStore,
        SqlReportCache,
    )
    from mobilend.adapters.ids import SortableIds

    settings = settings or get_settings()
    url = credit_data_url or settings.credit_data_url
    if not url and sources is None:
        raise ValueError("the scoring engine needs the credit data service URL")
    scorer = _load_scorer(model_dir or risk_model_dir(settings))
    db = _db(settings, db)
    vault = vault or load_vault(settings)
    book = policy_book(settings)
    cache = SqlReportCache(db, vault, ttl_days={n: s.ttl_days for n, s in DEFAULT_SPECS.items()})
    fraud = SqlFraudSignalStore(db, vault)
    options: dict[str, Any] = {}
    if for_reviews:
        # A line may be re-decided on the same date (after a deferral): one id per attempt.
        ids = SortableIds()

        def decision_id(a: Applicant, on: dt.date) -> str:
            return f"DEC-{a.application_id}-{on:%Y%m%d}-{ids()}"

        options["decision_id"] = decision_id
    return RiskDecisionEngine(
        scorer=scorer,
        sources=sources
        if sources is not None
        else build_http_sources(url or "", cache=cache, meter=CostMeter()),
        fraud_store=fraud.read_only() if for_reviews else fraud,
        policies=book,
        overlay=market_overlay(book),
        challenger=load_challenger(book),
        records=SqlDecisionRecordStore(db, vault),
        cost_caps=load_rulebook(settings),
        products=product_lookup(db),
        **options,
    )


def product_lookup(db: sa.Engine) -> Callable[[str], LoanProduct | None]:
    """Finds a product by code in the catalogue, so a price fits its offers' APR."""
    from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory
    from mobilend.domain.errors import NotFound

    factory = SqlUnitOfWorkFactory(db)

    def product(code: str) -> LoanProduct | None:
        with factory.reading() as uow:
            try:
                return uow.lending.products.get(code)
            except NotFound:
                return None

    return product


def build_decision_records(
    settings: Settings | None = None,
    *,
    db: sa.Engine | None = None,
    vault: FieldVault | None = None,
) -> SqlDecisionRecordStore:
    settings = settings or get_settings()
    return SqlDecisionRecordStore(_db(settings, db), vault or load_vault(settings))


def build_replay_engine(
    settings: Settings | None = None, model_dirs: Sequence[Path] = ()
) -> RiskDecisionEngine:
    """An engine that only replays: every model it may meet in a record (the configured
    one, the challenger's, and ``model_dirs``), the configured policy files, no sources."""
    from mobilend.risk.fraud import InMemoryFraudSignalStore

    settings = settings or get_settings()
    directories = [Path(d) for d in model_dirs] or [risk_model_dir(settings)]
    scorers = [_load_scorer(d.expanduser().resolve()) for d in directories]
    book = policy_book(settings)
    challenger = load_challenger(book)
    return RiskDecisionEngine(
        scorer=scorers[0],
        other_scorers=scorers[1:],
        sources={},
        fraud_store=InMemoryFraudSignalStore(),
        policies=book,
        overlay=market_overlay(book),
        challenger=challenger,
        cost_caps=load_rulebook(settings),
    )


def build_line_review_store(
    settings: Settings | None = None, *, db: sa.Engine | None = None
) -> UnitOfWorkFactory:
    """The platform unit of work on PostgreSQL, for reading line reviews (reading
    proposals needs no engine)."""
    from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory

    return SqlUnitOfWorkFactory(_db(settings or get_settings(), db))


def build_line_reviews(
    settings: Settings | None = None,
    *,
    db: sa.Engine | None = None,
    vault: FieldVault | None = None,
    clock: Clock | None = None,
    credit_data_url: str | None = None,
    every_days: int = 30,
) -> LineReviews:
    """Periodic line reviews on PostgreSQL with the service's scoring engine."""
    from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory
    from mobilend.adapters.ids import SortableIds, SystemClock
    from mobilend.app.onboarding.pii import unseal
    from mobilend.domain.borrowers import Borrower
    from mobilend.domain.errors import NotFound

    settings = settings or get_settings()
    db = _db(settings, db)
    vault = vault or load_vault(settings)
    engine = build_risk_engine(
        settings, db=db, vault=vault, credit_data_url=credit_data_url, for_reviews=True
    )

    uow_factory = SqlUnitOfWorkFactory(db)

    def borrower(borrower_id: str) -> Borrower:
        with uow_factory() as uow:
            sealed = uow.onboarding.borrowers.get(borrower_id)
        if sealed is None:
            raise NotFound(f"borrower {borrower_id} not found")
        return unseal(sealed, vault)

    return LineReviews(
        uow=uow_factory,
        decisions=engine,
        borrowers=borrower,
        new_id=SortableIds(),
        clock=clock or SystemClock(),
        every_days=every_days,
        rules=load_rulebook(settings),
    )


def run_line_reviews(
    business_date: dt.date,
    *,
    partition: int = 0,
    partitions: int = 1,
    every_days: int = 30,
    settings: Settings | None = None,
) -> LineReviewSummary:
    """The line-review job for one business date (one partition of the lines): what a
    scheduler calls. With no ``credit_data_url`` it uses the sandbox credit data service,
    started in this process for the run, as the service does."""
    settings = settings or get_settings()
    sandbox = None if settings.credit_data_url else start_credit_data_sandbox()
    url = sandbox.base_url if sandbox is not None else settings.credit_data_url
    try:
        reviews = build_line_reviews(settings, credit_data_url=url, every_days=every_days)
        return reviews.run(business_date, partition=partition, partitions=partitions)
    finally:
        if sandbox is not None:
            sandbox.stop()
