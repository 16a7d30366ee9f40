"""The service's container: the lending core, the borrower journey and the payout desk
behind it, wired on PostgreSQL with the outside world behind HTTP adapters — what
``create_api`` and ``create_web`` take."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from mobilend.adapters.auth import JwtTokenIssuer, SecretsRandom
from mobilend.adapters.auth.tokens import load_jwt_secret
from mobilend.adapters.counterparty_secrets import CounterpartySecrets, counterparty_secrets
from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts
from mobilend.adapters.db.rate_limits import SqlRateLimiter
from mobilend.adapters.db.security_repository import SqlRefreshTokenStore
from mobilend.adapters.decisions.basic_policy import BasicPolicyEngine
from mobilend.adapters.funders.http_partner import HttpPartnerBank
from mobilend.adapters.ids import SortableIds
from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.adapters.risk_versions import ReloadingDecisionEngine
from mobilend.adapters.vault import FieldVault
from mobilend.app.funding.disbursement import DisbursementDesk
from mobilend.app.journey.application_limits import ApplicationGuard
from mobilend.app.journey.context import JourneyContext
from mobilend.app.journey.loans import PaymentNotices
from mobilend.app.journey.service import BorrowerJourney
from mobilend.app.lending.catalogue import DEMO_PRODUCTS
from mobilend.app.lending.products import ensure_product
from mobilend.app.messaging import MessageGateway
from mobilend.app.onboarding.service import Onboarding, OnboardingSettings
from mobilend.app.ports import Clock, DecisionEngine, PaymentRail
from mobilend.app.servicing.autodebit import submit_debits
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.bootstrap.funding import build_disbursement
from mobilend.bootstrap.infra import (
    PARTNER_CALLBACK_PATH,
    RAIL_CALLBACK_PATH,
    build_infrastructure,
    callback_address,
)
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.bootstrap.servicing import build_servicing
from mobilend.config import Settings, get_settings
from mobilend.domain.limits import ApplicationLimits, OtpAbuseLimits, RateLimit
from mobilend.domain.products_state import product_from_state

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """The service's container: the lending core, the borrower journey and the payout
    desk behind it. ``create_api`` and ``create_web`` take it."""

    lending: Lending
    journey: BorrowerJourney
    settings: Settings
    #: The payout side: the worker's passes and the rail's and partners' callbacks go
    #: through it.
    disbursement: DisbursementDesk
    vault: FieldVault
    #: Each counterparty's webhook secret ring.
    webhook_secrets: CounterpartySecrets
    #: The borrowers' card payments (debits through the same rail) and their refunds.
    servicing: ServicingDesk | None = None
    #: Names and base URLs of sandbox services this process started (for developers).
    sandboxes: dict[str, str] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def engine(self) -> sa.Engine:
        assert self.lending.engine is not None
        return self.lending.engine

    def today(self) -> dt.date:
        return self.lending.today()

    def set_public_url(self, public_url: str) -> None:
        """Have the rail and partner banks call back ``public_url`` from now on (for a
        service whose address is known only once it listens, e.g. on a free port)."""
        desk = self.disbursement
        if isinstance(desk.rail, HttpPaymentRail):
            desk.rail.callback_url = callback_address(public_url, RAIL_CALLBACK_PATH)
        for partner in desk.partners.values():
            if isinstance(partner, HttpPartnerBank):
                partner.callback_url = callback_address(public_url, PARTNER_CALLBACK_PATH)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_decision_engine(
    settings: Settings, *, db: sa.Engine | None = None, vault: FieldVault | None = None
) -> DecisionEngine:
    """The scoring engine (policy rules, fraud checks, PD model, data sources, PostgreSQL
    stores) when configured and its model is on disk; otherwise the basic policy, which
    needs neither. ``db``/``vault``: the platform's engine and PII vault, when it has them."""
    basic = BasicPolicyEngine()
    choice = settings.decision_engine
    if choice == "basic" or (choice == "auto" and not settings.credit_data_url):
        return basic
    try:
        from mobilend.bootstrap.risk import build_risk_engine

        if settings.policy_dir is None:  # the shipped policy files: nothing to promote
            return build_risk_engine(settings, db=db, vault=vault)
        # Promotions rewrite the deployment's policy folder: decide with what is in force.
        return ReloadingDecisionEngine(
            lambda: build_risk_engine(settings, db=db, vault=vault),
            settings.policy_dir.expanduser().resolve(),
        )
    except Exception as exc:
        if choice == "risk":
            raise
        log.warning(
            "scoring engine unavailable (%s: %s); deciding with the basic policy",
            type(exc).__name__,
            exc,
        )
        return basic


def build_platform(
    *,
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    sms_gateway_url: str | None = None,
    payment_gateway_url: str | None = None,
    decisions: DecisionEngine | None = None,
    rail: PaymentRail | None = None,
    messages: MessageGateway | None = None,
    seed_products: bool = True,
    ids: SortableIds | None = None,
    vault: FieldVault | None = None,
) -> Platform:
    """Wire the borrower journey and its payout desk on PostgreSQL. Gateway URLs default
    to the settings'; one of them missing is an error here (``bootstrap.service`` starts
    sandboxes first). ``rail``/``messages`` replace the HTTP adapters built from those
    URLs. The rail built here asks for callbacks at ``settings.public_url``. ``ids`` and
    ``vault`` replace the random id source and the configured PII vault (simulations)."""
    settings = settings or get_settings()
    infra = build_infrastructure(settings, engine=engine, clock=clock, ids=ids, vault=vault)
    lending = build_lending(infra=infra)
    db, vault = infra.db, infra.vault
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
    tokens = JwtTokenIssuer(
        load_jwt_secret(settings.jwt_secret.get_secret_value(), var_dir=settings.var_path),
        SqlRefreshTokenStore(db),
        access_ttl=dt.timedelta(seconds=settings.jwt_ttl_seconds),
    )
    onboarding = Onboarding(
        unit_of_work=lending.uow_factory,
        vault=vault,
        messages=messages,
        tokens=tokens,
        clock=infra.clock,
        ids=infra.ids,
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
    closers += [p.close for p in desk.partners.values() if isinstance(p, HttpPartnerBank)]
    servicing = build_servicing(lending, settings=settings, rail=rail, vault=vault)
    servicing.on_collection = PaymentNotices(infra.new_id, infra.clock)
    context = JourneyContext(
        uow=lending.uow_factory,
        new_id=infra.new_id,
        clock=infra.clock,
        cost_caps=infra.cost_caps,
        onboarding=onboarding,
        decisions=decisions or build_decision_engine(settings, db=db, vault=vault),
        messages=messages,
        collector=lambda keys: submit_debits(servicing, keys=keys),
        application_guard=ApplicationGuard(SqlRateLimiter(db), vault, application_limits(settings)),
    )
    if seed_products:
        for definition in DEMO_PRODUCTS:
            product = product_from_state(dict(definition))
            ensure_product(
                lending.uow_factory, product, on=lending.today(), cost_caps=lending.cost_caps
            )
    platform = Platform(
        lending, BorrowerJourney(context), settings, desk, vault, secrets, servicing
    )
    platform.closers += closers
    return platform


def application_limits(settings: Settings) -> ApplicationLimits:
    defaults = ApplicationLimits()
    return ApplicationLimits(
        per_device=RateLimit(
            defaults.per_device.bucket,
            settings.applications_per_device,
            defaults.per_device.window,
            defaults.per_device.origin,
        ),
        per_identity=RateLimit(
            defaults.per_identity.bucket,
            settings.applications_per_identity,
            defaults.per_identity.window,
            defaults.per_identity.origin,
        ),
    )


def onboarding_settings(settings: Settings) -> OnboardingSettings:
    """Onboarding's rules with the abuse limits the settings give."""
    defaults = OtpAbuseLimits()

    def counted(limit: RateLimit, max_events: int) -> RateLimit:
        return RateLimit(limit.bucket, max_events, limit.window, limit.origin)

    return OnboardingSettings(
        limits=OtpAbuseLimits(
            sends_per_ip=counted(defaults.sends_per_ip, settings.otp_sends_per_ip),
            sends_overall=counted(defaults.sends_overall, settings.otp_sends_per_minute),
            checks_per_phone=counted(defaults.checks_per_phone, settings.otp_checks_per_phone),
            checks_per_ip=counted(defaults.checks_per_ip, settings.otp_checks_per_ip),
        )
    )
