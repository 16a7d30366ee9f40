"""JWT sessions (HS256): short-lived access tokens, rotating refresh tokens, revocation.

Each sign-in starts a token *family*. Refreshing spends the refresh token and issues a
new pair in the same family; presenting a spent refresh token again means it leaked,
so the whole family is revoked (the thief and the owner both sign in again). Sign-out
revokes the family, and access tokens of a revoked family stop working at once when
``check_revocation`` is on (one indexed read per request).

Expiry is checked against the ``now`` the caller passes (the platform clock), not the
machine clock, so tests and simulations on a virtual date behave.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import jwt

from mobilend.adapters.vault.keyring import b64encode, write_secret_file_once
from mobilend.app.onboarding.ports import TokenClaims, TokenPair
from mobilend.domain.borrowers import Unauthenticated

MIN_SECRET_BYTES = 32
ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    token_id: str
    family_id: str
    subject: str
    kind: str
    roles: tuple[str, ...]
    issued_at: dt.datetime
    expires_at: dt.datetime
    rotated_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class RefreshTokenStore(Protocol):
    def add(self, record: RefreshTokenRecord) -> None: ...

    def get(self, token_id: str) -> RefreshTokenRecord | None: ...

    def mark_rotated(self, token_id: str, at: dt.datetime) -> bool:
        """Spend a live token; False when it was already spent or revoked (atomically)."""
        ...

    def revoke_family(self, family_id: str, at: dt.datetime) -> None: ...

    def family_revoked(self, family_id: str) -> bool: ...


class InMemoryRefreshTokenStore:
    def __init__(self) -> None:
        self._records: dict[str, RefreshTokenRecord] = {}
        self._revoked_families: set[str] = set()
        self._lock = threading.Lock()

    def add(self, record: RefreshTokenRecord) -> None:
        with self._lock:
            self._records[record.token_id] = record

    def get(self, token_id: str) -> RefreshTokenRecord | None:
        return self._records.get(token_id)

    def mark_rotated(self, token_id: str, at: dt.datetime) -> bool:
        with self._lock:
            record = self._records.get(token_id)
            if record is None or record.rotated_at is not None or record.revoked_at is not None:
                return False
            self._records[token_id] = replace(record, rotated_at=at)
            return True

    def revoke_family(self, family_id: str, at: dt.datetime) -> None:
        with self._lock:
            self._revoked_families.add(family_id)
            for token_id, record in list(self._records.items()):
                if record.family_id == family_id and record.revoked_at is None:
                    self._records[token_id] = replace(record, revoked_at=at)

    def family_revoked(self, family_id: str) -> bool:
        return family_id in self._revoked_families


def load_jwt_secret(configured: str, *, var_dir: Path) -> str:
    """The configured signing secret, or (none configured) a random one generated once
    into ``<var>/secrets/jwt_secret`` (mode 0600) for this developer machine."""
    if configured:
        return configured
    path = var_dir / "secrets" / "jwt_secret"
    write_secret_file_once(path, b64encode(secrets.token_bytes(48)) + "\n")
    return path.read_text(encoding="utf-8").strip()


#: Claims every token we issue carries, with the type each must have.
REQUIRED_CLAIMS: dict[str, type] = {
    "exp": int,
    "iat": int,
    "sub": str,
    "jti": str,
    "typ": str,
    "fam": str,
    "kind": str,
}


def _well_formed(claims: dict[str, Any]) -> bool:
    for name, kind in REQUIRED_CLAIMS.items():
        value = claims.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
    roles = claims.get("roles", [])
    return isinstance(roles, list) and all(isinstance(role, str) for role in roles)


def _timestamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


class JwtTokenIssuer:
    """Implements the ``TokenIssuer`` port."""

    def __init__(
        self,
        secret: str | bytes,
        store: RefreshTokenStore,
        *,
        issuer: str = "mobilend",
        access_ttl: dt.timedelta = dt.timedelta(minutes=15),
        refresh_ttl: dt.timedelta = dt.timedelta(days=30),
        check_revocation: bool = True,
        new_id: Callable[[], str] = lambda: secrets.token_urlsafe(18),
    ) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._key = key
        self._store = store
        self._issuer = issuer
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._check_revocation = check_revocation
        self._new_id = new_id

    # -- port -------------------------------------------------------------------
    def issue(self, subject: str, kind: str, roles: tuple[str, ...], now: dt.datetime) -> TokenPair:
        return self._pair(subject, kind, roles, self._new_id(), now)

    def refresh(self, refresh_token: str, now: dt.datetime) -> TokenPair:
        claims = self._decode(refresh_token, REFRESH, now)
        record = self._store.get(str(claims["jti"]))
        if record is None or record.family_id != claims["fam"]:
            raise Unauthenticated("unknown refresh token")
        if record.revoked_at is not None:
            raise Unauthenticated("refresh token revoked")
        if not self._store.mark_rotated(record.token_id, now):
            # Spent before: someone replays it. Cut the family off.
            self._store.revoke_family(record.family_id, now)
            raise Unauthenticated("refresh token reused; please sign in again")
        return self._pair(record.subject, record.kind, record.roles, record.family_id, now)

    def revoke(self, refresh_token: str, now: dt.datetime) -> None:
        claims = self._decode(refresh_token, REFRESH, now, allow_expired=True)
        self._store.revoke_family(str(claims["fam"]), now)

    def verify_access(self, access_token: str, now: dt.datetime) -> TokenClaims:
        claims = self._decode(access_token, ACCESS, now)
        if self._check_revocation and self._store.family_revoked(str(claims["fam"])):
            raise Unauthenticated("session signed out")
        return TokenClaims(
            subject=str(claims["sub"]),
            kind=str(claims["kind"]),
            roles=tuple(str(r) for r in claims.get("roles", ())),
            token_id=str(claims["jti"]),
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        )

    # -- internals --------------------------------------------------------------
    def _pair(
        self, subject: str, kind: str, roles: tuple[str, ...], family_id: str, now: dt.datetime
    ) -> TokenPair:
        access_expires = now + self._access_ttl
        refresh_expires = now + self._refresh_ttl
        refresh_id = self._new_id()
        common = {
            "iss": self._issuer,
            "sub": subject,
            "kind": kind,
            "fam": family_id,
            "iat": _timestamp(now),
        }
        access = jwt.encode(
            {
                **common,
                "typ": ACCESS,
                "jti": self._new_id(),
                "roles": list(roles),
                "exp": _timestamp(access_expires),
            },
            self._key,
            algorithm="HS256",
        )
        refresh = jwt.encode(
            {**common, "typ": REFRESH, "jti": refresh_id, "exp": _timestamp(refresh_expires)},
            self._key,
            algorithm="HS256",
        )
        self._store.add(
            RefreshTokenRecord(refresh_id, family_id, subject, kind, roles, now, refresh_expires)
        )
        return TokenPair(access, refresh, access_expires, refresh_expires)

    def _decode(
        self, token: str, token_type: str, now: dt.datetime, *, allow_expired: bool = False
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=self._issuer,
                options={
                    "verify_exp": False,  # checked below against the platform clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": list(REQUIRED_CLAIMS),
                },
            )
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        if not _well_formed(claims):
            # Signed with our key but not shaped as we issue them: refuse, never crash.
            raise Unauthenticated("invalid token")
        if claims.get("typ") != token_type:
            raise Unauthenticated(f"expected a {token_type} token")
        if not allow_expired and int(claims["exp"]) <= _timestamp(now):
            raise Unauthenticated("token expired")
        return claims
