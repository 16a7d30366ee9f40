"""What every route asks for: the journey, the signed-in borrower, the caller's address
and device, the ``Idempotency-Key`` of money-moving requests, and id path parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mobilend.api.schemas import ID_PATTERN
from mobilend.app.journey.service import BorrowerJourney, Once
from mobilend.domain.borrowers import Unauthenticated

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BorrowerToken",
    description="Access token from POST /api/v1/auth/otp/verify (or /auth/refresh)",
)


def journey_of(request: Request) -> BorrowerJourney:
    journey: BorrowerJourney = request.app.state.journey
    return journey


def current_borrower(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("请先登录 (sign in first)")
    return journey_of(request).onboarding.authenticate(credentials.credentials)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


# The dependencies that only read the request are coroutines: FastAPI runs a plain
# function dependency on a worker thread, a hand-off per request that costs more than
# the reading. (``current_borrower`` reads the database, so it stays on a thread.)
async def _journey(request: Request) -> BorrowerJourney:
    return journey_of(request)


async def _client_ip(request: Request) -> str:
    return client_ip(request)


Journey = Annotated[BorrowerJourney, Depends(_journey)]
BorrowerId = Annotated[str, Depends(current_borrower)]
ClientIp = Annotated[str, Depends(_client_ip)]
DeviceId = Annotated[
    str,
    Header(
        alias="X-Device-Id",
        max_length=200,
        pattern=r"^[\x21-\x7e]*$",
        description="The app's stable device identifier (recorded with consents and signatures)",
    ),
]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="Client-chosen key, unique per money-moving request: a replay with the "
        "same key returns the first response and moves no money; the same key with a "
        "different request is refused with 409",
    ),
]


def _id(description: str) -> object:
    return Path(pattern=ID_PATTERN, description=description)


LineIdPath = Annotated[str, _id("Credit line id")]
ApplicationIdPath = Annotated[str, _id("Credit application id")]
ContractIdPath = Annotated[str, _id("Contract id")]
LoanIdPath = Annotated[str, _id("Loan id")]
RepaymentIdPath = Annotated[str, _id("Repayment id")]
PaymentIdPath = Annotated[str, _id("Payment id")]


def once_response(once: Once[Any], status_code: int) -> JSONResponse:
    """The stored response of a once-only request; ``Idempotent-Replayed`` tells a replay."""
    return JSONResponse(
        dict(once.response),
        status_code=status_code,
        headers={"Idempotent-Replayed": "true" if once.replayed else "false"},
    )
