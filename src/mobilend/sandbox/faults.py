"""Fault injection shared by the sandbox services (they import nothing else of ours).

A service owns one ``FaultBoard``. Operators and tests switch faults on at runtime with
``POST /admin/faults`` ``{"mode": ..., "rate": 0.3, "count": 5, ...}``; several modes can
be active at once; ``DELETE /admin/faults`` (or mode ``"none"``) clears them.

* ``rate`` — probability that the fault fires on each eligible event (default 1.0).
* ``count`` — fire at most this many times, then switch off by itself (handy in tests).
* ``paths`` — only requests whose path starts with one of these (request faults only).

Whether a fault fires is drawn from SHA-256 of (seed, mode, subject, n), where *subject*
is the idempotency key or path and *n* counts the draws for that subject — so a run with
the same seed makes the same choices whatever order concurrent requests arrive in.

Request faults every service understands (the service adds its own callback faults):

* ``latency`` — wait ``latency_ms`` before answering.
* ``timeout`` — hang for ``hang_ms`` (default 30 s, past any sane client timeout).
  ``phase="after"`` (default) processes the request first, so the work is done but
  the answer is lost; ``phase="before"`` hangs without doing anything.
* ``error_5xx`` — answer ``status`` (default 503); ``phase="before"`` (default) does
  nothing, ``phase="after"`` does the work and still answers 5xx.
* ``down`` — every request answers 503 until cleared (a gateway failing forever).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

REQUEST_FAULTS = frozenset({"latency", "timeout", "error_5xx", "down"})


def deterministic_draw(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by the seed and the parts."""
    text = ":".join([str(seed), *(str(p) for p in parts)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: str
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1)
    paths: list[str] | None = None
    latency_ms: int = Field(default=200, ge=0, le=600_000)
    hang_ms: int = Field(default=30_000, ge=0, le=600_000)
    status: int = Field(default=503, ge=500, le=599)
    phase: Literal["before", "after"] | None = None
    copies: int = Field(default=2, ge=2, le=20)  # duplicate callbacks
    delay_ms: int = Field(default=300, ge=0, le=600_000)  # out-of-order: how late the stale one


class FaultBoard:
    """Active faults of one service. Used from the event loop only (no awaits inside)."""

    def __init__(self, allowed_modes: frozenset[str], seed: int = 0) -> None:
        self.allowed_modes = allowed_modes | REQUEST_FAULTS
        self.seed = seed
        self._active: dict[str, FaultSpec] = {}
        self._draws: dict[tuple[str, str], int] = {}
        self.fired: dict[str, int] = {}
        self.generation = 0  # bumped by reset: requests delayed across a reset do nothing

    def reset(self, seed: int) -> None:
        self.seed = seed
        self.generation += 1
        self._active.clear()
        self._draws.clear()
        self.fired.clear()

    def set(self, spec: FaultSpec) -> None:
        if spec.mode == "none":
            self._active.clear()
            return
        if spec.mode not in self.allowed_modes:
            raise ValueError(f"unknown fault mode {spec.mode!r}")
        self._active[spec.mode] = spec

    def clear(self, mode: str | None = None) -> None:
        if mode is None:
            self._active.clear()
        else:
            self._active.pop(mode, None)

    def active(self) -> list[FaultSpec]:
        return list(self._active.values())

    def fires(self, mode: str, subject: str, path: str | None = None) -> FaultSpec | None:
        """Return the spec if ``mode`` fires for this subject now (and count it)."""
        spec = self._active.get(mode)
        if spec is None:
            return None
        if path is not None and spec.paths and not any(path.startswith(p) for p in spec.paths):
            return None
        n = self._draws.get((mode, subject), 0)
        self._draws[(mode, subject)] = n + 1
        if spec.rate < 1.0 and deterministic_draw(self.seed, mode, subject, n) >= spec.rate:
            return None
        if spec.count is not None:
            if spec.count <= 1:
                self._active.pop(mode, None)
            else:
                self._active[mode] = spec.model_copy(update={"count": spec.count - 1})
        self.fired[mode] = self.fired.get(mode, 0) + 1
        return spec

    # -- request faults -------------------------------------------------------
    async def before(self, path: str, subject: str) -> RequestVerdict:
        """Apply faults that strike before the work; ``verdict.response`` means: answer it."""
        if self.fires("down", subject, path):
            return RequestVerdict(_unavailable(503, "gateway down"))
        latency = self.fires("latency", subject, path)
        if latency:
            generation = self.generation
            await asyncio.sleep(latency.latency_ms / 1000)
            if generation != self.generation:
                return RequestVerdict(_unavailable(503, "sandbox was reset"))
        error = self.fires("error_5xx", subject, path)
        if error and (error.phase or "before") == "before":
            return RequestVerdict(_unavailable(error.status, "injected error"))
        timeout = self.fires("timeout", subject, path)
        if timeout and (timeout.phase or "after") == "before":
            await asyncio.sleep(timeout.hang_ms / 1000)
            return RequestVerdict(_unavailable(504, "injected timeout"))
        return RequestVerdict(None, [s for s in (error, timeout) if s is not None])

    async def after(self, verdict: RequestVerdict) -> JSONResponse | None:
        """Apply the 'work done, answer lost' faults chosen by ``before``."""
        for spec in verdict.deferred:
            if spec.mode == "timeout":
                await asyncio.sleep(spec.hang_ms / 1000)
                return _unavailable(504, "injected timeout")
            return _unavailable(spec.status, "injected error")
        return None


@dataclass(slots=True)
class RequestVerdict:
    response: JSONResponse | None
    deferred: list[FaultSpec] = field(default_factory=list)


def local_path(request: Request) -> str:
    """The request path as the service sees it, without a mount prefix (``all`` runner)."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _unavailable(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": "unavailable", "reason": reason}, status_code=status)


def admin_router(board: FaultBoard, on_reset: Any, stats: Any) -> APIRouter:
    """``/admin`` endpoints: faults, reset (optionally with a new seed), stats. Never faulted."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [spec.model_dump() for spec in board.active()]

    @router.post("/faults")
    async def set_fault(spec: FaultSpec) -> dict[str, Any]:
        try:
            board.set(spec)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        return {"active": [s.model_dump() for s in board.active()]}

    @router.delete("/faults")
    async def clear_faults(mode: str | None = None) -> dict[str, Any]:
        board.clear(mode)
        return {"active": [s.model_dump() for s in board.active()]}

    @router.post("/reset")
    async def reset(request: Request) -> dict[str, Any]:
        body = await request.body()
        options = (await request.json()) if body else {}
        seed = int(options.get("seed", board.seed))
        board.reset(seed)
        await on_reset(options)
        return {"reset": True, "seed": seed}

    @router.get("/stats")
    async def get_stats() -> dict[str, Any]:
        return {**stats(), "faults_fired": dict(board.fired)}

    return router
