"""Secrets for PII encryption: the AES key ring and the blind-index key.

Production passes them from configuration:
``MOBILEND_PII_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"`` (newest first: it
encrypts; every key listed decrypts) and ``MOBILEND_PII_INDEX_KEY="<base64 ≥32 bytes>"``.
A developer machine with neither gets a random set generated once into
``<var>/secrets/pii_keys`` (mode 0600), outside the repository.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_KEY_ID = re.compile(r"[A-Za-z0-9_\-]{1,16}")
AES_KEY_BYTES = 32
MIN_INDEX_KEY_BYTES = 32


class VaultError(Exception):
    """A sealed value cannot be opened (tampered, wrong field, unknown key) or keys are bad."""


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode standard or URL-safe base64, with or without padding."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise VaultError("not valid base64") from exc


@dataclass(frozen=True, slots=True)
class KeyRing:
    """AES-256 keys by id; the first one is current (encrypts), all of them decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultError("the key ring is empty")
        seen: set[str] = set()
        for key_id, key in self.keys:
            if not _KEY_ID.fullmatch(key_id):
                raise VaultError(f"bad key id {key_id!r}: 1-16 of A-Z a-z 0-9 _ -")
            if key_id in seen:
                raise VaultError(f"key id {key_id!r} appears twice")
            if len(key) != AES_KEY_BYTES:
                raise VaultError(f"key {key_id!r} must be {AES_KEY_BYTES} bytes, not {len(key)}")
            seen.add(key_id)

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise VaultError(f"unknown key id {key_id!r}")

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """``"k2:<b64>,k1:<b64>"`` → ring with k2 current."""
        pairs: list[tuple[str, bytes]] = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep:
                raise VaultError("each key is written key_id:base64key")
            pairs.append((key_id.strip(), b64decode(encoded)))
        return cls(tuple(pairs))

    def render(self) -> str:
        return ",".join(f"{key_id}:{b64encode(key)}" for key_id, key in self.keys)

    def with_new_key(self, key_id: str, key: bytes | None = None) -> KeyRing:
        """A ring where a new key is current and the old ones still decrypt."""
        return KeyRing(((key_id, key or secrets.token_bytes(AES_KEY_BYTES)), *self.keys))

    @classmethod
    def generate(cls, key_id: str = "k1") -> KeyRing:
        return cls(((key_id, secrets.token_bytes(AES_KEY_BYTES)),))


@dataclass(frozen=True, slots=True)
class PiiSecrets:
    key_ring: KeyRing
    index_key: bytes

    def __post_init__(self) -> None:
        if len(self.index_key) < MIN_INDEX_KEY_BYTES:
            raise VaultError(f"the blind-index key must be at least {MIN_INDEX_KEY_BYTES} bytes")


def write_secret_file_once(path: Path, content: str) -> bool:
    """Create ``path`` with mode 0600 unless it exists; True when this call wrote it.

    ``O_EXCL`` makes concurrent first starts agree on one file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A shared parent we do not own may refuse; the file's own mode still protects the keys.
    with contextlib.suppress(OSError):
        os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return True


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def developer_secrets_path(var_dir: Path) -> Path:
    return var_dir / "secrets" / "pii_keys"


def load_developer_secrets(var_dir: Path) -> PiiSecrets:
    """The machine-local random key set, generated on first use."""
    path = developer_secrets_path(var_dir)
    content = (
        "# mobilend PII keys for this machine only; generated at random. Never commit or copy.\n"
        f"MOBILEND_PII_KEYS={KeyRing.generate('dev1').render()}\n"
        f"MOBILEND_PII_INDEX_KEY={b64encode(secrets.token_bytes(MIN_INDEX_KEY_BYTES))}\n"
    )
    write_secret_file_once(path, content)
    values = _read_env_file(path)
    try:
        return PiiSecrets(
            KeyRing.parse(values["MOBILEND_PII_KEYS"]), b64decode(values["MOBILEND_PII_INDEX_KEY"])
        )
    except KeyError as exc:
        raise VaultError(f"{path} lacks {exc.args[0]}") from None


def load_pii_secrets(
    pii_keys: str = "", index_key: str = "", *, var_dir: Path = Path("var")
) -> PiiSecrets:
    """Configured keys when given (both are then required), else the developer file."""
    if pii_keys.strip() or index_key.strip():
        if not (pii_keys.strip() and index_key.strip()):
            raise VaultError("set both MOBILEND_PII_KEYS and MOBILEND_PII_INDEX_KEY, or neither")
        return PiiSecrets(KeyRing.parse(pii_keys), b64decode(index_key))
    return load_developer_secrets(var_dir)


def load_pii_secrets_from_env(environ: Mapping[str, str], var_dir: Path) -> PiiSecrets:
    return load_pii_secrets(
        environ.get("MOBILEND_PII_KEYS", ""),
        environ.get("MOBILEND_PII_INDEX_KEY", ""),
        var_dir=var_dir,
    )


def key_ids(ring: KeyRing) -> Sequence[str]:
    return [key_id for key_id, _ in ring.keys]
