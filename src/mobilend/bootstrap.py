"""The composition root: the one place that wires adapters into use cases.

``build_lending()`` gives the real platform on PostgreSQL (the embedded server
unless ``MOBILEND_DATABASE_URL`` is set); ``build_lending(in_memory=True)``
gives the same use cases over in-memory fakes, for fast tests.
``build_platform()`` adds the borrower journey (onboarding, decisions, contracts,
notifications) and the payout side it signs loans into (``build_disbursement``): the
container the API and the web app are built from.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mobilend.adapters.ids import SortableIds, SystemClock
from mobilend.app.eod import LoanByLoanEndOfDay
from mobilend.app.journey import BorrowerJourney
from mobilend.app.ports import Clock, DecisionEngine, MessageGateway, PaymentRail
from mobilend.app.ports_lending import EndOfDayRunner, LendingUnitOfWorkFactory
from mobilend.config import Settings, get_settings
from mobilend.domain.compliance import CostCapPolicy


@dataclass
class Lending:
    """Everything a lending use case needs, already wired."""

    uow_factory: LendingUnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    cost_caps: CostCapPolicy
    eod: EndOfDayRunner
    engine: Any = None  # the SQLAlchemy engine when on PostgreSQL

    def today(self) -> dt.date:
        return self.clock.now().date()


def build_lending(
    *,
    in_memory: bool = False,
    engine: Any = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> Lending:
    ids = SortableIds()
    caps = CostCapPolicy()
    clock = clock or SystemClock()
    if in_memory:
        # The lending unit of work also carries the funding stores (``uow.funding``), so a
        # draw is routed to its funders and paid out through the rail's outbox.
        from mobilend.adapters.memory.funding import InMemoryFundingUnitOfWorkFactory

        memory = InMemoryFundingUnitOfWorkFactory(now=clock.now)
        return Lending(memory, ids, clock, caps, LoanByLoanEndOfDay(memory, ids))
    from mobilend.adapters.db.engine import create_engine, database_url
    from mobilend.adapters.db.eod_runner import SqlEndOfDay
    from mobilend.adapters.db.funding_repository import SqlFundingUnitOfWorkFactory

    settings = settings or get_settings()
    engine = engine if engine is not None else create_engine(database_url(settings))
    factory = SqlFundingUnitOfWorkFactory(engine)
    # End of day in set-based SQL (the domain's rules; loans holding credit go through
    # the domain itself), partitioned by loan id for the job queue's workers.
    eod = SqlEndOfDay(engine, ids, chunk_size=settings.eod_chunk_size)
    return Lending(factory, ids, clock, caps, eod, engine)


# --------------------------------------------------------------------------- the borrower journey


#: Where the rail and partner banks call this service back (under its public URL).
RAIL_CALLBACK_PATH = "/api/v1/callbacks/rail"
PARTNER_CALLBACK_PATH = "/api/v1/callbacks/partner"


def callback_address(public_url: str, path: str) -> str:
    """``public_url`` + ``path``; '' when the service's public URL is not known."""
    return public_url.rstrip("/") + path if public_url else ""


@dataclass
class Platform:
    """The service's container: the lending core, the borrower journey and the payout
    desk behind it, wired on PostgreSQL with the outside world behind HTTP adapters.
    ``create_api`` and ``create_web`` take it."""

    lending: Lending
    journey: BorrowerJourney
    settings: Settings
    #: Names and base URLs of sandbox services this process started (for developers).
    sandboxes: dict[str, str] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)
    #: The payout side (``app.disbursement.DisbursementDesk``): the worker's passes and
    #: the rail's and partners' callbacks go through it.
    disbursement: Any = None
    #: Each counterparty's webhook secret ring (``adapters.counterparty_secrets``).
    webhook_secrets: Any = None

    def today(self) -> dt.date:
        return self.lending.today()

    def set_public_url(self, public_url: str) -> None:
        """Have the rail and partner banks call back ``public_url`` from now on (for a
        service whose address is known only once it listens, e.g. on a free port)."""
        desk = self.disbursement
        if desk is None:
            return
        if hasattr(desk.rail, "callback_url"):
            desk.rail.callback_url = callback_address(public_url, RAIL_CALLBACK_PATH)
        for partner in desk.partners.values():
            if hasattr(partner, "callback_url"):
                partner.callback_url = callback_address(public_url, PARTNER_CALLBACK_PATH)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_decision_engine(
    settings: Settings, *, db: Any = None, vault: Any = None
) -> DecisionEngine:
    """The scoring engine (policy rules, fraud checks, PD model, data sources, PostgreSQL
    stores) when configured and its model is on disk; otherwise the basic policy, which
    needs neither. ``db``/``vault``: the platform's engine and PII vault, when it has them."""
    from mobilend.adapters.decisions.basic_policy import BasicPolicyEngine

    basic = BasicPolicyEngine()
    choice = settings.decision_engine
    if choice == "basic" or (choice == "auto" and not settings.credit_data_url):
        return basic
    try:
        return _scoring_engine(settings, db=db, vault=vault)
    except Exception as exc:
        if choice == "risk":
            raise
        logging.getLogger(__name__).warning(
            "scoring engine unavailable (%s: %s); deciding with the basic policy",
            type(exc).__name__,
            exc,
        )
        return basic


def _scoring_engine(settings: Settings, *, db: Any = None, vault: Any = None) -> DecisionEngine:
    from mobilend.bootstrap_risk import build_risk_engine

    return build_risk_engine(settings, db=db, vault=vault)


def build_platform(
    *,
    engine: Any = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    sms_gateway_url: str | None = None,
    payment_gateway_url: str | None = None,
    decisions: DecisionEngine | None = None,
    rail: PaymentRail | None = None,
    messages: MessageGateway | None = None,
    seed_products: bool = True,
) -> Platform:
    """Wire the borrower journey and its payout desk on PostgreSQL. Gateway URLs default
    to the settings'; one of them missing is an error here (``mobilend.asgi`` starts
    sandboxes first). ``rail``/``messages`` replace the HTTP adapters built from those
    URLs. The rail built here asks for callbacks at ``settings.public_url``."""
    import os

    from mobilend.adapters.auth import JwtTokenIssuer, SecretsRandom
    from mobilend.adapters.auth.tokens import load_jwt_secret
    from mobilend.adapters.counterparty_secrets import counterparty_secrets
    from mobilend.adapters.db.engine import create_engine, database_url
    from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts
    from mobilend.adapters.db.onboarding_repository import SqlOnboardingUnitOfWork
    from mobilend.adapters.db.rate_limits import SqlRateLimiter
    from mobilend.adapters.db.security_repository import SqlRefreshTokenStore
    from mobilend.adapters.notify.http_gateway import HttpMessageGateway
    from mobilend.adapters.rails.http_rail import HttpPaymentRail
    from mobilend.adapters.vault import FieldVault, load_pii_secrets
    from mobilend.app.catalogue import DEMO_PRODUCTS
    from mobilend.app.journey import JourneyContext
    from mobilend.app.onboarding import Onboarding
    from mobilend.app.products import ensure_product
    from mobilend.domain.products_state import product_from_state

    settings = settings or get_settings()
    if engine is None:
        engine = create_engine(database_url(settings), pool_size=settings.db_pool_size)
    lending = build_lending(engine=engine, settings=settings, clock=clock)
    db = lending.engine
    sms_url = sms_gateway_url or settings.sms_gateway_url
    payment_url = payment_gateway_url or settings.payment_gateway_url
    secrets = counterparty_secrets(settings)
    closers: list[Callable[[], None]] = []
    if messages is None:
        if not sms_url:
            raise ValueError("build_platform needs the SMS gateway URL")
        http_messages = HttpMessageGateway(sms_url, secrets.sms_gateway, timeout=3.0, retries=2)
        closers.append(http_messages.close)
        messages = http_messages
    if rail is None:
        if not payment_url:
            raise ValueError("build_platform needs the payment gateway URL")
        http_rail = HttpPaymentRail(
            payment_url,
            secrets.rail,
            timeout=5.0,
            retries=2,
            callback_url=callback_address(settings.public_url, RAIL_CALLBACK_PATH),
        )
        closers.append(http_rail.close)
        rail = http_rail
    pii = load_pii_secrets(
        settings.pii_keys.get_secret_value(),
        settings.pii_index_key.get_secret_value() or os.environ.get("MOBILEND_PII_INDEX_KEY", ""),
        var_dir=settings.var_path,
    )
    vault = FieldVault.from_secrets(pii)
    tokens = JwtTokenIssuer(
        load_jwt_secret(settings.jwt_secret.get_secret_value(), var_dir=settings.var_path),
        SqlRefreshTokenStore(db),
        access_ttl=dt.timedelta(seconds=settings.jwt_ttl_seconds),
    )
    ids = SortableIds()
    onboarding = Onboarding(
        unit_of_work=lambda: SqlOnboardingUnitOfWork(db),
        vault=vault,
        messages=messages,
        tokens=tokens,
        clock=lending.clock,
        ids=ids,
        random=SecretsRandom(),
        settings=onboarding_settings(settings),
        limiter=SqlRateLimiter(db),
    )
    desk = build_disbursement(
        lending,
        rail=rail,
        payout_accounts=SqlVaultPayoutAccounts(db, vault),
        config=settings,
        vault=vault,
    )
    closers += [p.close for p in desk.partners.values() if hasattr(p, "close")]
    context = JourneyContext(
        uow=desk.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        cost_caps=lending.cost_caps,
        onboarding=onboarding,
        decisions=decisions or build_decision_engine(settings, db=db, vault=vault),
        messages=messages,
    )
    if seed_products:
        for definition in DEMO_PRODUCTS:
            product = product_from_state(dict(definition))
            ensure_product(
                lending.uow_factory, product, on=lending.today(), cost_caps=lending.cost_caps
            )
    platform = Platform(
        lending, BorrowerJourney(context), settings, disbursement=desk, webhook_secrets=secrets
    )
    platform.closers += closers
    return platform


def onboarding_settings(settings: Settings) -> Any:
    """Onboarding's rules with the abuse limits the settings give."""
    from mobilend.app.onboarding import OnboardingSettings
    from mobilend.domain.limits import OtpAbuseLimits, RateLimit

    defaults = OtpAbuseLimits()

    def counted(limit: RateLimit, max_events: int) -> RateLimit:
        return RateLimit(limit.bucket, max_events, limit.window)

    return OnboardingSettings(
        limits=OtpAbuseLimits(
            sends_per_ip=counted(defaults.sends_per_ip, settings.otp_sends_per_ip),
            sends_overall=counted(defaults.sends_overall, settings.otp_sends_per_minute),
            checks_per_phone=counted(defaults.checks_per_phone, settings.otp_checks_per_phone),
            checks_per_ip=counted(defaults.checks_per_ip, settings.otp_checks_per_ip),
        )
    )


# --------------------------------------------------------------------------- funding and disbursement


def build_disbursement(
    lending: Lending,
    *,
    rail: Any,
    payout_accounts: Any = None,
    partners: Any = None,
    settings: Any = None,
    config: Settings | None = None,
    vault: Any = None,
) -> Any:
    """The payout side (``app.disbursement.DisbursementDesk``) — the one the service's
    callbacks and background thread use, and the one jobs and ``mobilend disbursement
    worker`` run ``app.disbursement_worker.run_cycle`` on.

    ``rail`` is a ``PaymentRail`` (e.g. ``HttpPaymentRail``); ``partners`` maps funder codes
    to ``PartnerBank`` clients (default: ``config.partner_bank_urls``, calling back at
    ``config.public_url``); ``settings`` are its ``DisbursementSettings``. Payout
    accounts default to the borrowers' verified cards, decrypted through the PII vault.
    On PostgreSQL its units of work are the journey's (funding's plus the inbox), and a
    payout that becomes final leaves the borrower a notice (``PayoutNotices``) in the
    same transaction."""
    from mobilend.app.disbursement import DisbursementDesk
    from mobilend.app.ports_funding import DisbursementSettings

    uow_factory: Any = lending.uow_factory
    notices = None
    if lending.engine is not None:
        from mobilend.adapters.db.journey_repository import SqlJourneyUnitOfWorkFactory
        from mobilend.app.journey_payouts import PayoutNotices

        if vault is None:
            vault = _vault(config or get_settings())
        uow_factory = SqlJourneyUnitOfWorkFactory(lending.engine, vault)
        notices = PayoutNotices(lending.new_id, lending.clock)
    if payout_accounts is None:
        payout_accounts = build_payout_accounts(lending, config)
    if partners is None and lending.engine is not None:
        config = config or get_settings()
        from mobilend.adapters.counterparty_secrets import counterparty_secrets

        partners = build_partner_banks(
            dict(config.partner_bank_urls),
            counterparty_secrets(config).partners,
            callback_url=callback_address(config.public_url, PARTNER_CALLBACK_PATH),
        )
    return DisbursementDesk(
        uow_factory=uow_factory,
        rail=rail,
        payout_accounts=payout_accounts,
        clock=lending.clock,
        new_id=lending.new_id,
        partners=dict(partners or {}),
        settings=settings or DisbursementSettings(),
        on_final=notices,
    )


def _vault(settings: Settings) -> Any:
    """The PII vault from the settings' key ring (a developer key set under ``var/``)."""
    import os

    from mobilend.adapters.vault import FieldVault, load_pii_secrets

    pii = load_pii_secrets(
        settings.pii_keys.get_secret_value(),
        settings.pii_index_key.get_secret_value() or os.environ.get("MOBILEND_PII_INDEX_KEY", ""),
        var_dir=settings.var_path,
    )
    return FieldVault.from_secrets(pii)


def build_payout_accounts(lending: Lending, settings: Settings | None = None) -> Any:
    """Borrowers' verified cards from the onboarding records, opened with the PII vault."""
    from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts

    if lending.engine is None:
        raise ValueError("payout accounts from onboarding records need PostgreSQL")
    return SqlVaultPayoutAccounts(lending.engine, _vault(settings or get_settings()))


def build_http_rail(
    base_url: str,
    secret: Any,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    breaker_threshold: int | None = None,
    breaker_reset_s: float = 30.0,
    **options: Any,
) -> Any:
    """The payment gateway's HTTP adapter (``PaymentRail``)."""
    from mobilend.adapters.http_resilience import CircuitBreaker
    from mobilend.adapters.rails.http_rail import HttpPaymentRail

    if breaker_threshold is not None:
        options["breaker"] = CircuitBreaker(breaker_threshold, reset_after=breaker_reset_s)
    return HttpPaymentRail(base_url, secret, timeout=timeout, retries=retries, **options)


def build_partner_banks(
    urls: dict[str, str],
    secret: Any,
    *,
    timeout: float = 5.0,
    retries: int = 1,
    callback_url: str = "",
) -> dict[str, Any]:
    """``PartnerBank`` HTTP clients by funder code (asking for decisions at
    ``callback_url`` when given). ``secret``: one secret (or ``SecretRing``) for all, or
    each partner's by funder code (``"*"``: partners not listed)."""
    from mobilend.adapters.funders.http_partner import HttpPartnerBank

    def secret_of(code: str) -> Any:
        if isinstance(secret, dict):
            return secret[code] if code in secret else secret["*"]
        return secret

    return {
        code: HttpPartnerBank(
            url, secret_of(code), timeout=timeout, retries=retries, callback_url=callback_url
        )
        for code, url in urls.items()
    }


def payout_accounts_from_file(path: Any) -> Any:
    """Payout accounts from a JSON file ``{borrower_id: {account_name, card_number}}`` —
    for simulations and tests, where borrowers have no onboarding records."""
    import json
    from pathlib import Path

    from mobilend.adapters.memory.funding import StaticPayoutAccounts
    from mobilend.app.ports_funding import PayoutAccount

    data = json.loads(Path(path).read_text("utf-8"))
    return StaticPayoutAccounts(
        {k: PayoutAccount(v["account_name"], v["card_number"]) for k, v in data.items()}
    )


# --------------------------------------------------------------------------- servicing


def build_servicing(
    lending: Lending,
    *,
    settings: Settings | None = None,
    servicing_settings: Any = None,
    messages: Any = None,
    rail: Any = None,
    vault: Any = None,
) -> Any:
    """The servicing desk (``app.servicing.desk.ServicingDesk``) on PostgreSQL: reminders
    through ``messages`` (a ``MessageGateway``; delivery receipts polled from it when it
    can), auto-debits and refunds through ``rail`` (a ``PaymentRail``; debit status
    polled from it when it can), borrowers' phones and cards opened with the PII vault."""
    import os

    from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts
    from mobilend.adapters.db.servicing_contacts import SqlContactDirectory
    from mobilend.adapters.db.servicing_repository import SqlServicingUnitOfWorkFactory
    from mobilend.adapters.vault import FieldVault, load_pii_secrets
    from mobilend.app.servicing.desk import ServicingDesk
    from mobilend.app.servicing.settings import ServicingSettings

    if lending.engine is None:
        raise ValueError("servicing runs on PostgreSQL")
    settings = settings or get_settings()
    if vault is None:
        pii = load_pii_secrets(
            settings.pii_keys.get_secret_value(),
            settings.pii_index_key.get_secret_value()
            or os.environ.get("MOBILEND_PII_INDEX_KEY", ""),
            var_dir=settings.var_path,
        )
        vault = FieldVault.from_secrets(pii)
    return ServicingDesk(
        uow_factory=SqlServicingUnitOfWorkFactory(lending.engine),
        new_id=lending.new_id,
        clock=lending.clock,
        settings=servicing_settings or ServicingSettings(),
        messages=messages,
        contacts=SqlContactDirectory(lending.engine, vault),
        receipts=messages if hasattr(messages, "poll_receipts") else None,
        rail=rail,
        debit_status=rail if hasattr(rail, "debit_status") else None,
        debit_accounts=SqlVaultPayoutAccounts(lending.engine, vault),
    )


@dataclass
class ServicingRuntime:
    """What background work needs: end of day (SQL), the servicing desk, the business-date
    book, and the outside-world clients they share (closed by ``close``)."""

    lending: Lending
    eod: Any  # adapters.db.eod_runner.SqlEndOfDay
    desk: Any  # app.servicing.desk.ServicingDesk
    dates: Any  # adapters.db.eod_dates.SqlBusinessDates (app.servicing.business_dates port)
    partitions: int
    settings: Settings
    rail: Any = None
    messages: Any = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def progress(self, business_date: dt.date) -> list[Any]:
        """Rows done and total per partition of ``business_date``."""
        from mobilend.adapters.db.eod_runner import eod_progress

        return eod_progress(self.lending.engine, business_date)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_servicing_runtime(
    *,
    engine: Any = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    messages: Any = None,
    rail: Any = None,
    servicing_settings: Any = None,
    vault: Any = None,
    partitions: int | None = None,
) -> ServicingRuntime:
    """Wire background work on PostgreSQL. The SMS/push and payment gateways default to
    HTTP clients for the settings' URLs (none configured: messages and debits stay queued)."""
    from mobilend.adapters.db.eod_dates import SqlBusinessDates

    settings = settings or get_settings()
    lending = build_lending(engine=engine, settings=settings, clock=clock)
    from mobilend.adapters.counterparty_secrets import counterparty_secrets

    closers: list[Callable[[], None]] = []
    secrets = counterparty_secrets(settings)
    if messages is None and settings.sms_gateway_url:
        from mobilend.adapters.notify.http_gateway import HttpMessageGateway

        messages = HttpMessageGateway(
            settings.sms_gateway_url, secrets.sms_gateway, timeout=3.0, retries=1
        )
        closers.append(messages.close)
    if rail is None and settings.payment_gateway_url:
        rail = build_http_rail(
            settings.payment_gateway_url,
            secrets.rail,
            retries=1,
            # Payouts sent from here settle by webhook to the service, when it is known.
            callback_url=callback_address(settings.public_url, RAIL_CALLBACK_PATH),
        )
        closers.append(rail.close)
    desk = build_servicing(
        lending,
        settings=settings,
        servicing_settings=servicing_settings,
        messages=messages,
        rail=rail,
        vault=vault,
    )
    return ServicingRuntime(
        lending=lending,
        eod=lending.eod,
        desk=desk,
        dates=SqlBusinessDates(lending.engine),
        partitions=partitions or settings.eod_partitions,
        settings=settings,
        rail=rail,
        messages=messages,
        closers=closers,
    )


def job_queue_conninfo(settings: Settings | None = None) -> str:
    """libpq connection string of the job queue (procrastinate): the platform's database,
    with the queue's own schema (created by migration ``0006_servicing``) on the path."""
    from psycopg.conninfo import make_conninfo

    from mobilend.adapters.db.engine import database_url, libpq_url

    url = libpq_url(database_url(settings or get_settings()))
    return make_conninfo(url, options="-c search_path=procrastinate")


def eod_status(business_date: dt.date, *, engine: Any = None) -> tuple[Any, list[Any]]:
    """End of day of one business date as operators see it: the date's record
    (``app.servicing.business_dates.BusinessDate`` or None) and rows done / total per
    partition (``adapters.db.eod_runner.PartitionProgress``)."""
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.db.eod_dates import SqlBusinessDates
    from mobilend.adapters.db.eod_runner import eod_progress

    own = engine is None
    engine = engine if engine is not None else create_engine(pool_size=1)
    try:
        return SqlBusinessDates(engine).get(business_date), eod_progress(engine, business_date)
    finally:
        if own:
            engine.dispose()
