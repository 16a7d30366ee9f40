"""Funding and disbursement: the payout desk (``app.funding.disbursement.DisbursementDesk``)
with its rail and partner-bank clients and where borrowers are paid to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mobilend.adapters.counterparty_secrets import counterparty_secrets
from mobilend.adapters.funders.http_partner import HttpPartnerBank
from mobilend.adapters.http_resilience import CircuitBreaker
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.adapters.vault import FieldVault
from mobilend.adapters.webhook_signature import SecretRing
from mobilend.app.funding.disbursement import DisbursementDesk
from mobilend.app.funding.ports import (
    DisbursementSettings,
    PayoutAccount,
    PayoutAccounts,
    PayoutOutcomeListener,
)
from mobilend.app.ports import PartnerBank, PaymentRail
from mobilend.bootstrap.infra import (
    PARTNER_CALLBACK_PATH,
    callback_address,
    load_vault,
)
from mobilend.bootstrap.lending import Lending
from mobilend.config import Settings, get_settings


def build_disbursement(
    lending: Lending,
    *,
    rail: PaymentRail,
    payout_accounts: PayoutAccounts | None = None,
    partners: Mapping[str, PartnerBank] | None = None,
    settings: DisbursementSettings | None = None,
    config: Settings | None = None,
    vault: FieldVault | None = None,
) -> DisbursementDesk:
    """The payout side — the one the service's callbacks and background thread use, and
    the one jobs and ``mobilend disbursement worker`` run ``app.funding.worker.run_cycle``
    on.

    ``rail`` is a ``PaymentRail`` (e.g. ``HttpPaymentRail``); ``partners`` maps funder codes
    to ``PartnerBank`` clients (default: ``config.partner_bank_urls``, calling back at
    ``config.public_url``); ``settings`` are its ``DisbursementSettings``. Payout
    accounts default to the borrowers' verified cards, decrypted through the PII vault.
    On PostgreSQL a payout that becomes final leaves the borrower a notice
    (``PayoutNotices``) in the same transaction."""
    notices: PayoutOutcomeListener | None = None
    if lending.engine is not None:
        from mobilend.app.journey.payouts import PayoutNotices

        notices = PayoutNotices(lending.new_id, lending.clock)
    if payout_accounts is None:
        payout_accounts = build_payout_accounts(lending, config, vault=vault)
    if partners is None and lending.engine is not None:
        config = config or get_settings()
        partners = build_partner_banks(
            dict(config.partner_bank_urls),
            counterparty_secrets(config).partners,
            callback_url=callback_address(config.public_url, PARTNER_CALLBACK_PATH),
        )
    return DisbursementDesk(
        uow_factory=lending.uow_factory,
        rail=rail,
        payout_accounts=payout_accounts,
        clock=lending.clock,
        new_id=lending.new_id,
        partners=dict(partners or {}),
        settings=settings or DisbursementSettings(),
        on_final=notices,
        rules=lending.cost_caps,
    )


def build_payout_accounts(
    lending: Lending, settings: Settings | None = None, *, vault: FieldVault | None = None
) -> PayoutAccounts:
    """Borrowers' verified cards from the onboarding records, opened with the PII vault."""
    from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts

    if lending.engine is None:
        raise ValueError("payout accounts from onboarding records need PostgreSQL")
    return SqlVaultPayoutAccounts(lending.engine, vault or load_vault(settings or get_settings()))


def build_http_rail(
    base_url: str,
    secret: str | SecretRing,
    *,
    timeout: float = 5.0,
    retries: int = 2,
    breaker_threshold: int | None = None,
    breaker_reset_s: float = 30.0,
    **options: Any,
) -> HttpPaymentRail:
    """The payment gateway's HTTP adapter (``PaymentRail``)."""
    if breaker_threshold is not None:
        options["breaker"] = CircuitBreaker(breaker_threshold, reset_after=breaker_reset_s)
    return HttpPaymentRail(base_url, secret, timeout=timeout, retries=retries, **options)


def build_partner_banks(
    urls: Mapping[str, str],
    secret: str | SecretRing | Mapping[str, SecretRing],
    *,
    timeout: float = 5.0,
    retries: int = 1,
    callback_url: str = "",
) -> dict[str, HttpPartnerBank]:
    """``PartnerBank`` HTTP clients by funder code (asking for decisions at
    ``callback_url`` when given). ``secret``: one secret (or ``SecretRing``) for all, or
    each partner's by funder code (``"*"``: partners not listed)."""

    def secret_of(code: str) -> str | SecretRing:
        if isinstance(secret, Mapping):
            return secret[code] if code in secret else secret["*"]
        return secret

    return {
        code: HttpPartnerBank(
            url, secret_of(code), timeout=timeout, retries=retries, callback_url=callback_url
        )
        for code, url in urls.items()
    }


def payout_accounts_from_file(path: str | Path) -> PayoutAccounts:
    """Payout accounts from a JSON file ``{borrower_id: {account_name, card_number}}`` —
    for simulations and tests, where borrowers have no onboarding records."""
    from mobilend.adapters.memory.funding import StaticPayoutAccounts

    data = json.loads(Path(path).read_text("utf-8"))
    return StaticPayoutAccounts(
        {k: PayoutAccount(v["account_name"], v["card_number"]) for k, v in data.items()}
    )
