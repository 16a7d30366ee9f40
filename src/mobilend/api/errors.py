"""The one error table: domain refusals, request validation and everything else become
``{"error": {"code", "message", "fields": [{"field", "message"}]}}`` with a 4xx status.

Codes are looked up first by the error's own ``code``, then by its class (a new
``Conflict`` subclass is a 409 without touching this file). Anything unexpected is a 500
with code ``internal_error`` and no detail; its log line carries no personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from mobilend.domain.errors import (
    ComplianceViolation,
    Conflict,
    DomainError,
    NotFound,
    ValidationFailed,
)

log = logging.getLogger("mobilend.api")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, e.g. validation_failed, not_found")
    message: str
    fields: list[FieldProblem] = Field(default_factory=list)


class ErrorOut(BaseModel):
    error: ErrorDetail


#: Status by error code; codes not listed fall back to their class (``BY_CLASS``).
STATUS_BY_CODE: Mapping[str, int] = {
    "unauthenticated": 401,
    "invalid_signature": 401,  # a callback whose signature or timestamp does not check out
    "malformed_callback": 400,
    "forbidden": 403,
    "second_person_required": 403,  # maker-checker: the maker may not check their own request
    "otp_rate_limited": 429,
    "application_rate_limited": 429,
    "otp_delivery_failed": 503,
    "money_invalid": 422,
    "currency_mismatch": 422,
    "apr_undefined": 422,
    "apr_above_cap": 422,
    "no_cost_cap": 422,
    "consent_required": 409,
    "borrower_inactive": 409,
    "national_id_taken": 409,
    "kyc_locked": 409,
    "idempotency_key_reused": 409,
    # Money: never more than is owed today, never a payoff of nothing.
    "amount_above_owed": 422,
    "payoff_insufficient": 422,
    "nothing_owed": 409,
    "nothing_due": 409,
    "payment_in_progress": 409,
    "disbursement_not_paid": 409,
}

BY_CLASS: Sequence[tuple[type[DomainError], int]] = (
    (ValidationFailed, 422),
    (NotFound, 404),
    (Conflict, 409),
    (ComplianceViolation, 422),
)

#: Domain field names → the request fields a client sent.
FIELD_ALIASES: Mapping[str, str] = {
    "principal": "amount_fen",
    "amount": "amount_fen",
    "limit": "amount_fen",
    "idempotency_key": "Idempotency-Key",
}

#: Every status the API answers with besides success, for the OpenAPI document.
ERROR_STATUSES = (400, 401, 404, 409, 422)
RATE_STATUSES = (429, 503)

_DESCRIPTIONS = {
    400: "Malformed request (e.g. the body is not valid JSON)",
    401: "Not signed in, or the token expired",
    403: "Not allowed",
    404: "No such resource for this borrower",
    409: "Conflicts with the current state (or an Idempotency-Key reused for another request)",
    422: "Input breaks a rule; `fields` lists each problem",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "An outside service did not answer; try again later",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorOut, "description": _DESCRIPTIONS[s]} for s in statuses}


def status_for(error: DomainError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for cls, status in BY_CLASS:
        if isinstance(error, cls):
            return status
    return 422


def error_body(code: str, message: str, fields: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return ErrorOut(
        error=ErrorDetail(
            code=code,
            message=message,
            fields=[FieldProblem(field=f, message=m) for f, m in fields],
        )
    ).model_dump(mode="json")


def domain_error_response(error: DomainError) -> JSONResponse:
    status = status_for(error)
    fields = [(FIELD_ALIASES.get(p.field, p.field), p.message) for p in error.problems]
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(error, "retry_after_seconds", None)
    if isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(error_body(error.code, error.message, fields), status, headers=headers)


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "body"


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(
            error_body("malformed_json", "请求体不是有效的JSON (the body is not valid JSON)"), 400
        )
    fields = [(_location(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]
    return JSONResponse(
        error_body("validation_failed", "请求参数有误 (the request breaks the schema)", fields), 422
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code
    return JSONResponse(
        error_body(code, message), exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The type and route only: exception text may carry request data.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "服务暂时不可用 (internal error)"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
