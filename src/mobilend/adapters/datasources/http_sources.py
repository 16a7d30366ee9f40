"""HTTP adapters for the paid credit data sources: bureau (征信), telco, e-commerce.

Each source is a ``CreditDataSource`` (see ``app/ports.py``) over ``ResilientHttp``:
per-attempt timeout, retries with exponential backoff on timeouts/5xx/429, and a
circuit breaker per source, so a dead bureau fails fast instead of holding every
decision for the full retry budget. A POST carries an ``Idempotency-Key`` (application
id + source) so a retried request is recognisable to the provider.

Costs: a report bought over the wire costs the source's configured price; a report
served from the cache costs nothing. Only answered calls are charged (providers bill
delivered reports). ``CostMeter`` totals calls, cache hits, failures and spend per source.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobilend.adapters.datasources.cache import ReportCache, cache_key
from mobilend.adapters.http_resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpen,
    ResilientHttp,
    UpstreamUnavailable,
)
from mobilend.domain.decisions import Applicant
from mobilend.domain.money import Money
from mobilend.risk.ports import DataSourceUnavailable, SourceReport


def _bureau_body(applicant: Applicant) -> dict[str, Any]:
    return {"national_id": applicant.national_id, "full_name": applicant.full_name}


def _telco_body(applicant: Applicant) -> dict[str, Any]:
    return {
        "phone": applicant.phone,
        "full_name": applicant.full_name,
        "national_id": applicant.national_id,
    }


def _ecommerce_body(applicant: Applicant) -> dict[str, Any]:
    return {"national_id": applicant.national_id, "phone": applicant.phone}


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What differs between sources: endpoint, request body, price, cache life, identity."""

    name: str
    path: str
    cost: Money
    ttl_days: int
    body: Callable[[Applicant], dict[str, Any]]
    identity: Callable[[Applicant], tuple[str, ...]]
    required_keys: tuple[str, ...] = ()


#: Default prices and cache lives; override per deployment with ``with_costs``/``with_ttl``.
DEFAULT_SPECS: Mapping[str, SourceSpec] = {
    "telco": SourceSpec(
        "telco",
        "/telco/v1/verifications",
        Money("0.50"),
        7,
        _telco_body,
        lambda a: (a.national_id, a.phone, a.full_name),
        ("real_name_match", "phone_tenure_months"),
    ),
    "bureau": SourceSpec(
        "bureau",
        "/bureau/v1/reports",
        Money("2.00"),
        30,
        _bureau_body,
        lambda a: (a.national_id, a.full_name),
        ("subject", "loans", "queries", "repayment_history", "personal"),
    ),
    "ecommerce": SourceSpec(
        "ecommerce",
        "/ecommerce/v1/profiles",
        Money("0.30"),
        30,
        _ecommerce_body,
        lambda a: (a.national_id,),
        ("monthly_spend_fen",),
    ),
}


def with_costs(
    specs: Mapping[str, SourceSpec], costs: Mapping[str, Money]
) -> dict[str, SourceSpec]:
    return {name: replace(spec, cost=costs.get(name, spec.cost)) for name, spec in specs.items()}


def with_ttl(specs: Mapping[str, SourceSpec], ttl_days: Mapping[str, int]) -> dict[str, SourceSpec]:
    return {
        name: replace(spec, ttl_days=ttl_days.get(name, spec.ttl_days))
        for name, spec in specs.items()
    }


@dataclass
class SourceUsage:
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    spend: Money = field(default_factory=Money.zero)


class CostMeter:
    """Running totals per source, for operations dashboards and cost reports."""

    def __init__(self) -> None:
        self._usage: dict[str, SourceUsage] = {}
        self._lock = threading.Lock()

    def _get(self, source: str) -> SourceUsage:
        return self._usage.setdefault(source, SourceUsage())

    def bought(self, source: str, cost: Money) -> None:
        with self._lock:
            usage = self._get(source)
            usage.calls += 1
            usage.spend = usage.spend + cost

    def cache_hit(self, source: str) -> None:
        with self._lock:
            self._get(source).cache_hits += 1

    def failed(self, source: str) -> None:
        with self._lock:
            self._get(source).failures += 1

    def snapshot(self) -> dict[str, SourceUsage]:
        with self._lock:
            return {
                name: SourceUsage(u.calls, u.cache_hits, u.failures, u.spend)
                for name, u in self._usage.items()
            }

    def total_spend(self) -> Money:
        with self._lock:
            total = Money.zero()
            for usage in self._usage.values():
                total = total + usage.spend
            return total


class HttpCreditDataSource:
    """One paid source over HTTP, with cache and cost accounting (a ``CreditDataSource``)."""

    def __init__(
        self,
        spec: SourceSpec,
        http: ResilientHttp,
        *,
        cache: ReportCache | None = None,
        meter: CostMeter | None = None,
    ) -> None:
        self.spec = spec
        self.http = http
        self.cache = cache
        self.meter = meter or CostMeter()

    @property
    def name(self) -> str:
        return self.spec.name

    def fetch(self, applicant: Applicant, on: dt.date) -> SourceReport:
        key = cache_key(self.spec.name, *self.spec.identity(applicant))
        if self.cache is not None:
            hit = self.cache.get(key, on, self.spec.ttl_days)
            if hit is not None:
                self.meter.cache_hit(self.spec.name)
                return SourceReport(
                    source=hit.source,
                    payload=hit.payload,
                    data_version=hit.data_version,
                    fetched_on=hit.fetched_on,
                    cost=Money.zero(hit.cost.currency),
                    cached=True,
                )
        payload = self._call(applicant)
        report = SourceReport(
            source=self.spec.name,
            payload=payload,
            data_version=str(payload.get("data_version", "")),
            fetched_on=on,
            cost=self.spec.cost,
        )
        self.meter.bought(self.spec.name, self.spec.cost)
        if self.cache is not None:
            self.cache.put(key, report)
        return report

    def _call(self, applicant: Applicant) -> dict[str, Any]:
        headers = {"Idempotency-Key": f"{applicant.application_id}:{self.spec.name}"}
        try:
            response = self.http.request(
                "POST", self.spec.path, json=self.spec.body(applicant), headers=headers
            )
        except CircuitOpen as exc:
            self.meter.failed(self.spec.name)
            raise DataSourceUnavailable(self.spec.name, "circuit_open", str(exc)) from exc
        except UpstreamUnavailable as exc:
            self.meter.failed(self.spec.name)
            reason = "timeout" if "Timeout" in exc.last_error else "server_error"
            raise DataSourceUnavailable(self.spec.name, reason, exc.last_error) from exc
        if response.status_code != 200:
            self.meter.failed(self.spec.name)
            raise DataSourceUnavailable(
                self.spec.name, "rejected", f"HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            payload = response.json()
        except ValueError as exc:
            self.meter.failed(self.spec.name)
            raise DataSourceUnavailable(self.spec.name, "bad_payload", "not JSON") from exc
        missing = [
            k for k in self.spec.required_keys if not isinstance(payload, dict) or k not in payload
        ]
        if missing:
            self.meter.failed(self.spec.name)
            raise DataSourceUnavailable(self.spec.name, "bad_payload", f"missing {missing}")
        return payload

    def close(self) -> None:
        self.http.close()


def build_http_sources(
    base_url: str,
    *,
    specs: Mapping[str, SourceSpec] = DEFAULT_SPECS,
    cache: ReportCache | None = None,
    meter: CostMeter | None = None,
    timeout: float = 2.0,
    retries: int = 2,
    backoff: Backoff | None = None,
    failure_threshold: int = 5,
    reset_after: float = 30.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> dict[str, HttpCreditDataSource]:
    """One adapter per source, each with its own breaker, sharing cache and meter."""
    shared_meter = meter or CostMeter()
    sources: dict[str, HttpCreditDataSource] = {}
    for name, spec in specs.items():
        breaker_args: dict[str, Any] = {
            "failure_threshold": failure_threshold,
            "reset_after": reset_after,
        }
        if clock is not None:
            breaker_args["clock"] = clock
        http_args: dict[str, Any] = {}
        if sleep is not None:
            http_args["sleep"] = sleep
        http = ResilientHttp(
            base_url,
            name=f"datasource.{name}",
            timeout=timeout,
            retries=retries,
            backoff=backoff or Backoff(base=0.05, cap=1.0),
            breaker=CircuitBreaker(**breaker_args),
            **http_args,
        )
        sources[name] = HttpCreditDataSource(spec, http, cache=cache, meter=shared_meter)
    return sources
