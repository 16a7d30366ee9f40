"""PII protection: field encryption with a rotating key ring, blind indexes, log redaction."""

from mobilend.adapters.vault.field_vault import FieldVault
from mobilend.adapters.vault.keyring import (
    KeyRing,
    PiiSecrets,
    VaultError,
    load_pii_secrets,
    load_pii_secrets_from_env,
)
from mobilend.adapters.vault.redaction import (
    PiiRedactingFilter,
    install_log_redaction,
    redact_pii,
    redact_text,
)
from mobilend.domain.borrowers import mask_bank_card, mask_name, mask_national_id, mask_phone

__all__ = [
    "FieldVault",
    "KeyRing",
    "PiiRedactingFilter",
    "PiiSecrets",
    "VaultError",
    "install_log_redaction",
    "load_pii_secrets",
    "load_pii_secrets_from_env",
    "mask_bank_card",
    "mask_name",
    "mask_national_id",
    "mask_phone",
    "redact_pii",
    "redact_text",
]
