"""Field-by-field PII encryption (AES-256-GCM) with a key ring, and keyed blind indexes.

A sealed value reads ``<key id>:<nonce>:<ciphertext+tag>`` (URL-safe base64), so each
value says which key opens it and keys can rotate without a flag day. The field name
is the associated data: a ciphertext copied into another column does not open.

Blind indexes are HMAC-SHA256 over a normalised value, with a per-field key derived
from a secret of its own, so equal national IDs find each other while the index
reveals nothing without the key, and equal values in different fields do not match.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mobilend.adapters.vault.keyring import KeyRing, PiiSecrets, VaultError, b64decode, b64encode

NONCE_BYTES = 12
_AD_PREFIX = b"mobilend/pii/v1/"
_INDEX_PREFIX = b"mobilend/bidx/v1/"


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def normalise_national_id(value: str) -> str:
    return re.sub(r"\s+", "", _nfkc(value)).upper()


def normalise_phone(value: str) -> str:
    """Digits of the E.164 form; a bare 11-digit mainland mobile number gets its 86."""
    digits = re.sub(r"\D", "", _nfkc(value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    return digits


def normalise_digits(value: str) -> str:
    return re.sub(r"\D", "", _nfkc(value))


def normalise_name(value: str) -> str:
    return " ".join(_nfkc(value).split()).casefold()


#: How each field is normalised before indexing; other fields are NFKC-trimmed.
NORMALISERS: Mapping[str, Callable[[str], str]] = {
    "national_id": normalise_national_id,
    "phone": normalise_phone,
    "bank_card": normalise_digits,
    "real_name": normalise_name,
}


class FieldVault:
    """Implements the ``PiiVault`` port."""

    def __init__(self, key_ring: KeyRing, index_key: bytes) -> None:
        PiiSecrets(key_ring, index_key)  # validates the index key length
        self._ring = key_ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in key_ring.keys}
        self._index_key = index_key
        self._field_index_keys: dict[str, bytes] = {}

    def __reduce__(self) -> tuple[type[FieldVault], tuple[KeyRing, bytes]]:
        # Rebuilt from its keys in another process (the simulation's arrivals); the
        # ciphers themselves do not pickle.
        return (FieldVault, (self._ring, self._index_key))

    @classmethod
    def from_secrets(cls, pii_secrets: PiiSecrets) -> FieldVault:
        return cls(pii_secrets.key_ring, pii_secrets.index_key)

    @property
    def current_key_id(self) -> str:
        return self._ring.current_id

    # -- encryption ---------------------------------------------------------
    def encrypt(self, field: str, value: str) -> str:
        key_id = self._ring.current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, value.encode("utf-8"), _AD_PREFIX + field.encode()
        )
        return f"{key_id}:{b64encode(nonce)}:{b64encode(sealed)}"

    def decrypt(self, field: str, sealed: str) -> str:
        key_id, nonce, body = self._split(sealed)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(f"{field}: sealed with unknown key {key_id!r}")
        try:
            plain = cipher.decrypt(nonce, body, _AD_PREFIX + field.encode())
        except InvalidTag:
            raise VaultError(f"{field}: value was altered or belongs to another field") from None
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(sealed: str) -> str:
        return sealed.split(":", 1)[0]

    def needs_rotation(self, sealed: str) -> bool:
        return self.key_id_of(sealed) != self._ring.current_id

    def rotate(self, field: str, sealed: str) -> str:
        """Re-seal under the current key; a value already under it comes back unchanged."""
        if not self.needs_rotation(sealed):
            self.decrypt(field, sealed)  # still prove it opens
            return sealed
        return self.encrypt(field, self.decrypt(field, sealed))

    @staticmethod
    def _split(sealed: str) -> tuple[str, bytes, bytes]:
        parts = sealed.split(":")
        if len(parts) != 3:
            raise VaultError("sealed value must read key_id:nonce:ciphertext")
        key_id, nonce_text, body_text = parts
        nonce = b64decode(nonce_text)
        if len(nonce) != NONCE_BYTES:
            raise VaultError("bad nonce length")
        return key_id, nonce, b64decode(body_text)

    # -- blind indexes -----------------------------------------------------
    def _field_index_key(self, field: str) -> bytes:
        key = self._field_index_keys.get(field)
        if key is None:
            key = hmac.new(self._index_key, _INDEX_PREFIX + field.encode(), hashlib.sha256).digest()
            self._field_index_keys[field] = key
        return key

    def blind_index(self, field: str, value: str) -> str:
        normalise = NORMALISERS.get(field, _nfkc)
        message = normalise(value).encode("utf-8")
        return hmac.new(self._field_index_key(field), message, hashlib.sha256).hexdigest()
