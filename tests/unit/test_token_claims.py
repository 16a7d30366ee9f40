"""A token signed with our key but not shaped as we issue them is refused (401), never
a crash; the sign-in page never sends a borrower to another site."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest

from mobilend.adapters.auth import InMemoryRefreshTokenStore, JwtTokenIssuer
from mobilend.domain.borrowers import Unauthenticated
from mobilend.web.onboarding import _safe_next

SECRET = "k" * 48
T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def forged(**changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": "mobilend",
        "sub": "b1",
        "kind": "borrower",
        "fam": "f1",
        "iat": int(T0.timestamp()),
        "typ": "access",
        "jti": "j1",
        "roles": [],
        "exp": int((T0 + dt.timedelta(minutes=5)).timestamp()),
    }
    claims.update(changes)
    for name in [k for k, v in claims.items() if v is None]:
        del claims[name]
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_a_well_formed_token_passes() -> None:
    tokens = JwtTokenIssuer(SECRET, InMemoryRefreshTokenStore())
    assert tokens.verify_access(forged(), T0).kind == "borrower"


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": None},
        {"kind": 7},
        {"sub": 12},
        {"roles": 5},
        {"roles": [1, 2]},
        {"exp": "tomorrow"},
        {"exp": True},
        {"fam": None},
        {"jti": ["x"]},
    ],
)
def test_a_signed_token_with_a_missing_or_odd_claim_is_unauthenticated(
    changes: dict[str, Any],
) -> None:
    tokens = JwtTokenIssuer(SECRET, InMemoryRefreshTokenStore())
    with pytest.raises(Unauthenticated):
        tokens.verify_access(forged(**changes), T0)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "evil.example",
        "/ /evil.example",
        "/\x00/evil",
        "/\u2028/evil",
        "",
    ],
)
def test_next_never_leaves_the_site(target: str) -> None:
    assert _safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/loans", "/loans/01J?tab=schedule", "/me#x"])
def test_next_keeps_local_paths(target: str) -> None:
    assert _safe_next(target) == target
