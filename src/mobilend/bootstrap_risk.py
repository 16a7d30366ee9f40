"""The risk engine's part of the composition root (``bootstrap.py`` delegates here).

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
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mobilend.config import Settings, get_settings

if TYPE_CHECKING:
    from mobilend.adapters.db.risk_repository import SqlDecisionRecordStore
    from mobilend.adapters.vault import FieldVault
    from mobilend.app.line_reviews import LineReviews, LineReviewSummary
    from mobilend.app.ports import Clock
    from mobilend.app.ports_risk import LineReviewUnitOfWorkFactory
    from mobilend.risk.engine import RiskDecisionEngine
    from mobilend.risk.policy import PolicyBook
    from mobilend.risk.scoring import Challenger, MarketOverlay, Scorer


def risk_model_dir(settings: Settings) -> Path:
    """Where the scoring engine's PD model lives (``<var_dir>/models/default`` unless set)."""
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


def load_vault(settings: Settings) -> FieldVault:
    from mobilend.adapters.vault import FieldVault, load_pii_secrets

    pii = load_pii_secrets(
        settings.pii_keys.get_secret_value(),
        settings.pii_index_key.get_secret_value() or os.environ.get("MOBILEND_PII_INDEX_KEY", ""),
        var_dir=settings.var_path,
    )
    return FieldVault.from_secrets(pii)


def _db(settings: Settings, db: Any) -> Any:
    if db is not None:
        return db
    from mobilend.adapters.db.engine import create_engine, database_url

    return create_engine(database_url(settings), pool_size=settings.db_pool_size)


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
    db: Any = None,
    vault: FieldVault | None = None,
    credit_data_url: str | None = None,
    for_reviews: bool = False,
) -> RiskDecisionEngine:
    """The scoring engine on PostgreSQL stores. ``for_reviews``: fraud signals are read
    but a re-decision leaves no sighting (it is not a new application)."""
    from mobilend.adapters.datasources import DEFAULT_SPECS, CostMeter, build_http_sources
    from mobilend.adapters.db.risk_repository import (
        SqlDecisionRecordStore,
        SqlFraudSignalStore,
        SqlReportCache,
    )
    from mobilend.adapters.ids import SortableIds
    from mobilend.risk.engine import RiskDecisionEngine

    settings = settings or get_settings()
    url = credit_data_url or settings.credit_data_url
    if not url:
        raise ValueError("the scoring engine needs the credit data service URL")
    scorer = _load_scorer(risk_model_dir(settings))
    db = _db(settings, db)
    vault = vault or load_vault(settings)
    book = policy_book(settings)
    cache = SqlReportCache(db, vault, ttl_days={n: s.ttl_days for n, s in DEFAULT_SPECS.items()})
    fraud = SqlFraudSignalStore(db, vault)
    options: dict[str, Any] = {}
    if for_reviews:
        # A line may be re-decided on the same date (after a deferral): one id per attempt.
        ids = SortableIds()
        options["decision_id"] = lambda a, on: f"DEC-{a.application_id}-{on:%Y%m%d}-{ids()}"
    return RiskDecisionEngine(
        scorer=scorer,
        sources=build_http_sources(url, cache=cache, meter=CostMeter()),
        fraud_store=fraud.read_only() if for_reviews else fraud,
        policies=book,
        overlay=market_overlay(book),
        challenger=load_challenger(book),
        records=SqlDecisionRecordStore(db, vault),
        **options,
    )


def build_decision_records(
    settings: Settings | None = None, *, db: Any = None, vault: FieldVault | None = None
) -> SqlDecisionRecordStore:
    from mobilend.adapters.db.risk_repository import SqlDecisionRecordStore

    settings = settings or get_settings()
    return SqlDecisionRecordStore(_db(settings, db), vault or load_vault(settings))


def build_replay_engine(
    settings: Settings | None = None, model_dirs: Sequence[Path] = ()
) -> RiskDecisionEngine:
    """An engine that only replays: every model it may meet in a record (the configured
    one, the challenger's, and ``model_dirs``), the configured policy files, no sources."""
    from mobilend.risk.engine import RiskDecisionEngine
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
    )


def build_line_review_store(
    settings: Settings | None = None, *, db: Any = None
) -> LineReviewUnitOfWorkFactory:
    """Line reviews' unit of work on PostgreSQL (reading proposals needs no engine)."""
    from mobilend.adapters.db.line_review_repository import SqlLineReviewUnitOfWorkFactory

    return SqlLineReviewUnitOfWorkFactory(_db(settings or get_settings(), db))


def build_line_reviews(
    settings: Settings | None = None,
    *,
    db: Any = None,
    vault: FieldVault | None = None,
    clock: Clock | None = None,
    credit_data_url: str | None = None,
    every_days: int = 30,
) -> LineReviews:
    """Periodic line reviews on PostgreSQL with the service's scoring engine."""
    from mobilend.adapters.db.line_review_repository import SqlLineReviewUnitOfWorkFactory
    from mobilend.adapters.db.onboarding_repository import SqlOnboardingUnitOfWork
    from mobilend.adapters.ids import SortableIds, SystemClock
    from mobilend.app.line_reviews import LineReviews
    from mobilend.app.onboarding_pii import unseal
    from mobilend.domain.borrowers import Borrower
    from mobilend.domain.errors import NotFound

    settings = settings or get_settings()
    db = _db(settings, db)
    vault = vault or load_vault(settings)
    engine = build_risk_engine(
        settings, db=db, vault=vault, credit_data_url=credit_data_url, for_reviews=True
    )

    def borrower(borrower_id: str) -> Borrower:
        with SqlOnboardingUnitOfWork(db) as uow:
            sealed = uow.borrowers.get(borrower_id)
        if sealed is None:
            raise NotFound(f"borrower {borrower_id} not found")
        return unseal(sealed, vault)

    return LineReviews(
        uow=SqlLineReviewUnitOfWorkFactory(db),
        decisions=engine,
        borrowers=borrower,
        new_id=SortableIds(),
        clock=clock or SystemClock(),
        every_days=every_days,
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
    url, stop = settings.credit_data_url or None, None
    if url is None:
        url, stop = start_credit_data_sandbox()
    try:
        reviews = build_line_reviews(settings, credit_data_url=url, every_days=every_days)
        return reviews.run(business_date, partition=partition, partitions=partitions)
    finally:
        if stop is not None:
            stop()


def start_credit_data_sandbox() -> tuple[str, Any]:
    """Serve the sandbox credit data service in this process (127.0.0.1, a free port), for
    commands run with no ``credit_data_url``; returns its URL and a function that stops it."""
    import socket
    import threading
    import time

    import uvicorn

    from mobilend.sandbox import credit_data

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        credit_data.create_app(), log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the credit data sandbox did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop
