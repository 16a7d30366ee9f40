"""Each counterparty's webhook secret ring, from the settings.

The payment rail, the SMS gateway and every partner bank sign their callbacks with a
secret of their own, so one leaked secret lets nobody speak for another. Production
configures each one (``config.production_problems`` refuses to start otherwise). A
developer machine may configure none: they then share one random secret generated once
into ``<var>/secrets/gateway_secret`` (mode 0600), or ``MOBILEND_GATEWAY_SECRET`` —
never a value published in the repository.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mobilend.adapters.vault.keyring import b64encode, write_secret_file_once
from mobilend.adapters.webhook_signature import SecretRing
from mobilend.config import KNOWN_DEFAULT_SECRETS, Settings

#: The partner ring that stands for "any partner" on a development machine.
ANY_PARTNER = "*"


@dataclass(frozen=True, slots=True)
class CounterpartySecrets:
    rail: SecretRing
    sms_gateway: SecretRing
    #: By funder code; in development also ``ANY_PARTNER`` (partners without a secret).
    partners: dict[str, SecretRing] = field(default_factory=dict)

    def partner(self, code: str) -> SecretRing:
        ring = self.partners.get(code) or self.partners.get(ANY_PARTNER)
        if ring is None:
            raise KeyError(f"no webhook secret for partner {code}")
        return ring


def development_secret(settings: Settings) -> str:
    """The shared development secret: ``gateway_secret``, else one generated once."""
    configured = settings.gateway_secret.get_secret_value()
    if configured:
        return configured
    path = settings.var_path / "secrets" / "gateway_secret"
    write_secret_file_once(path, b64encode(secrets.token_bytes(32)) + "\n")
    value = Path(path).read_text(encoding="utf-8").strip()
    if not value or value in KNOWN_DEFAULT_SECRETS:
        raise ValueError(f"{path} holds no usable secret")
    return value


def _epoch(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _ring(current: str, previous: str, until: dt.datetime | None, fallback: str) -> SecretRing:
    if not current:
        return SecretRing(fallback)
    return SecretRing(current, previous, _epoch(until))


def counterparty_secrets(settings: Settings) -> CounterpartySecrets:
    """The rings the settings describe; gaps filled with the development secret (only
    outside production: there ``ensure_production_ready`` has refused them already)."""
    rail = settings.rail_secret.get_secret_value()
    sms = settings.sms_gateway_secret.get_secret_value()
    missing_partner = any(
        code not in settings.partner_secrets for code in settings.partner_bank_urls
    )
    if settings.is_production and (not rail or not sms or missing_partner):
        raise ValueError("production needs a webhook secret for every counterparty")
    # Partners nobody configured may still call back on a developer machine.
    fallback = "" if settings.is_production else development_secret(settings)
    partners = {
        code: SecretRing(
            s.current.get_secret_value(), s.previous.get_secret_value(), _epoch(s.previous_until)
        )
        for code, s in settings.partner_secrets.items()
    }
    if fallback:
        for code in settings.partner_bank_urls:
            partners.setdefault(code, SecretRing(fallback))
        partners[ANY_PARTNER] = SecretRing(fallback)
    return CounterpartySecrets(
        rail=_ring(
            rail,
            settings.rail_secret_previous.get_secret_value(),
            settings.rail_secret_previous_until,
            fallback,
        ),
        sms_gateway=_ring(
            sms,
            settings.sms_gateway_secret_previous.get_secret_value(),
            settings.sms_gateway_secret_previous_until,
            fallback,
        ),
        partners=partners,
    )
