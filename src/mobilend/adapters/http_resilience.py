"""Small, shared HTTP resilience kit: retry with backoff + jitter, circuit breaker, a client.

Every adapter that calls the outside world over HTTP (payment rail, message gateway,
partner banks, data sources) needs the same three things:

* ``Backoff`` — how long to wait before retry *n*: exponential, capped, "full jitter"
  (a uniform draw in ``[0, min(cap, base * multiplier**n)]``) so many clients that failed
  together do not retry together.
* ``CircuitBreaker`` — after ``failure_threshold`` consecutive failures it opens and
  refuses calls at once for ``reset_after`` seconds, then lets one trial call through
  (half-open); success closes it, failure opens it again. Thread-safe.
* ``ResilientHttp`` — a synchronous ``httpx.Client`` wrapper that applies both: each
  attempt has ``timeout`` seconds; transport errors, timeouts and 429/5xx answers are
  retried up to ``retries`` times; everything else (2xx, 4xx) is returned to the caller.
  When it gives up it raises ``UpstreamUnavailable`` (a ``GatewayUnavailable``).

Retrying a POST is safe only when the server deduplicates it — send an idempotency key.
Clock, sleep and random source are injectable so tests never wait or guess.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mobilend.adapters.webhook_signature import SecretRing
from mobilend.domain.errors import GatewayUnavailable

#: HTTP answers worth retrying: the server is overloaded or broken, not the request.
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


class UpstreamUnavailable(GatewayUnavailable):
    """Gave up after retries; ``last_error`` says why (status code or exception text)."""

    def __init__(self, name: str, attempts: int, last_error: str) -> None:
        super().__init__(f"{name}: unavailable after {attempts} attempt(s): {last_error}")
        self.name = name
        self.attempts = attempts
        self.last_error = last_error


class CircuitOpen(GatewayUnavailable):
    """The breaker is open: the call was not attempted."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"{name}: circuit open, next trial in {retry_in:.1f}s")
        self.name = name
        self.retry_in = retry_in


class UnexpectedResponse(Exception):
    """The upstream answered outside its contract (e.g. 409: an idempotency key reused with
    a different body). A bug on one side, not a transient failure: do not retry, alert."""

    def __init__(self, name: str, status: int, body: str) -> None:
        super().__init__(f"{name}: unexpected HTTP {status}: {body[:300]}")
        self.name = name
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter; ``delay(0)`` is the wait before the first retry."""

    base: float = 0.1
    cap: float = 5.0
    multiplier: float = 2.0

    def ceiling(self, retry_number: int) -> float:
        return min(self.cap, self.base * self.multiplier**retry_number)

    def delay(self, retry_number: int, rng: random.Random) -> float:
        return rng.uniform(0.0, self.ceiling(retry_number))


class CircuitBreaker:
    """Consecutive-failure breaker: closed → open → half-open (one trial) → closed/open."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.reset_after:
            return self.HALF_OPEN
        return self.OPEN

    def retry_in(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_after - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial at a time."""
        with self._lock:
            state = self._state_locked()
            if state == self.CLOSED:
                return True
            if state == self.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False


class ResilientHttp:
    """``httpx.Client`` with per-attempt timeout, retries with backoff, and a circuit breaker.

    ``retries`` is the number of *extra* attempts (``retries=3`` → at most 4 requests).
    A 429/503 ``Retry-After`` (in seconds) stretches the wait, never past ``backoff.cap``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str = "upstream",
        timeout: float = 5.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        headers: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        retry_statuses: frozenset[int] = RETRYABLE_STATUSES,
    ) -> None:
        self.name = name
        self.retries = max(0, retries)
        self.backoff = backoff or Backoff()
        self.breaker = breaker or CircuitBreaker()
        self.retry_statuses = retry_statuses
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._owns_client = client is None
        self._client = client or httpx.Client(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout), headers=headers
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        """Send one logical request; returns the first non-retryable response."""
        attempts_allowed = 1 + (self.retries if retry else 0)
        last_error = ""
        for attempt in range(attempts_allowed):
            if not self.breaker.allow():
                raise CircuitOpen(self.name, self.breaker.retry_in())
            retry_after: float | None = None
            try:
                response = self._client.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as exc:  # includes every timeout
                self.breaker.record_failure()
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in self.retry_statuses:
                    self.breaker.record_success()
                    return response
                self.breaker.record_failure()
                last_error = f"HTTP {response.status_code}"
                retry_after = _retry_after_seconds(response)
            if attempt + 1 < attempts_allowed:
                wait = self.backoff.delay(attempt, self._rng)
                if retry_after is not None:
                    wait = max(wait, min(retry_after, self.backoff.cap))
                self._sleep(wait)
        raise UpstreamUnavailable(self.name, attempts_allowed, last_error)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ResilientHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: ignore, the backoff is enough


class SignedGatewayClient:
    """Base of the adapters that call one outside system over HTTP and receive its signed
    callbacks: holds the shared secret, the callback URL and a ``ResilientHttp``."""

    #: Name in logs and errors; the adapter's own default number of retries.
    service_name: str = "gateway"
    default_retries: int = 3

    def __init__(
        self,
        base_url: str,
        secret: str | SecretRing,
        timeout: float = 5.0,
        retries: int | None = None,
        *,
        callback_url: str = "",
        backoff: Backoff | None = None,
        breaker: CircuitBreaker | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.secret = secret
        self.callback_url = callback_url
        self.http = ResilientHttp(
            base_url,
            name=self.service_name,
            timeout=timeout,
            retries=self.default_retries if retries is None else retries,
            backoff=backoff,
            breaker=breaker,
            client=client,
            sleep=sleep,
            rng=rng,
        )
