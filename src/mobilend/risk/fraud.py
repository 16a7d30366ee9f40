"""Anti-fraud checks: velocity, shared identifiers and blacklists over past applications.

Every application leaves a sighting of its identifiers (national ID, phone, device,
IP address, bank card). The checks count, over sliding windows of business days ending
on the decision date (the current application included):

* velocity — applications using the same identifier (``max_applications``);
* shared — distinct people (national IDs) using the same device, phone, card or IP
  (``max_people``): one device used by many IDs is the classic fraud-ring signal;
* spread — distinct devices, phones or cards used by this person (``max_values``).

Thresholds are data (the scenario's ``fraud.json``). ``observe`` reads the store and
returns plain numbers, which the decision record keeps; ``fraud_hits`` turns numbers
into reason codes with no I/O, so a replay re-applies the rules to the stored numbers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mobilend.risk.ports import (
    ApplicationSighting,
    DistinctCount,
    FraudSignalCounter,
    FraudSignalStore,
)

IDENTIFIERS = ("national_id", "phone", "device_id", "ip_address", "bank_card")
RULE_KINDS = ("velocity", "shared", "spread")
_LIMIT_KEY = {"velocity": "max_applications", "shared": "max_people", "spread": "max_values"}
#: What each kind counts distinct values of (spread: the rule's own identifier).
_COUNTED = {"velocity": "application_id", "shared": "national_id", "spread": ""}


class FraudRuleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class FraudRule:
    kind: str  # velocity | shared | spread
    code: str
    identifier: str
    window_days: int
    limit: int
    action: str  # decline | refer

    @property
    def measure(self) -> str:
        """The observation this rule reads, e.g. ``velocity:device_id:1d``."""
        return f"{self.kind}:{self.identifier}:{self.window_days}d"


@dataclass(frozen=True, slots=True)
class FraudHit:
    code: str
    action: str
    observed: int
    limit: int


def parse_rules(data: Mapping[str, Any]) -> tuple[FraudRule, ...]:
    """Rules from a ``fraud.json`` document; refuses anything it cannot apply exactly."""
    rules: list[FraudRule] = []
    for kind in RULE_KINDS:
        for entry in data.get(kind, ()):
            try:
                rule = FraudRule(
                    kind=kind,
                    code=str(entry["code"]),
                    identifier=str(entry["identifier"]),
                    window_days=int(entry["window_days"]),
                    limit=int(entry[_LIMIT_KEY[kind]]),
                    action=str(entry["action"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise FraudRuleError(f"bad {kind} rule {entry!r}: {exc!r}") from exc
            if rule.identifier not in IDENTIFIERS:
                raise FraudRuleError(f"unknown identifier {rule.identifier!r} in {rule.code}")
            if kind == "spread" and rule.identifier == "national_id":
                raise FraudRuleError(
                    f"{rule.code}: a person's spread over national IDs is meaningless"
                )
            if rule.window_days < 1 or rule.limit < 0:
                raise FraudRuleError(f"{rule.code}: window_days must be ≥ 1 and the limit ≥ 0")
            if rule.action not in ("decline", "refer"):
                raise FraudRuleError(f"{rule.code}: action must be decline or refer")
            rules.append(rule)
    return tuple(rules)


def _window(on: dt.date, days: int) -> dt.date:
    return on - dt.timedelta(days=days - 1)


def observe(
    store: FraudSignalStore, sighting: ApplicationSighting, rules: Iterable[FraudRule]
) -> dict[str, Any]:
    """The numbers the rules need (current application counted once), plus blacklist hits."""
    if isinstance(store, FraudSignalCounter):
        return _observe_counted(store, sighting, rules)
    observations: dict[str, Any] = {}
    on = sighting.on
    for rule in rules:
        if rule.measure in observations:
            continue
        anchor = "national_id" if rule.kind == "spread" else rule.identifier
        value = getattr(sighting, anchor)
        if not value:
            observations[rule.measure] = 0
            continue
        past = [
            s
            for s in store.sightings(anchor, value, _window(on, rule.window_days), on)
            if s.application_id != sighting.application_id
        ]
        if rule.kind == "velocity":
            count = len({s.application_id for s in past}) + 1
        elif rule.kind == "shared":
            count = len({s.national_id for s in past} | {sighting.national_id})
        else:
            values = {getattr(s, rule.identifier) for s in past} | {
                getattr(sighting, rule.identifier)
            }
            count = len(values - {""})
        observations[rule.measure] = count
    observations["blacklisted"] = sorted(
        name
        for name in IDENTIFIERS
        if getattr(sighting, name) and store.is_blacklisted(name, getattr(sighting, name))
    )
    return observations


#: Serialises count-then-record on stores that cannot do it atomically themselves
#: (the in-memory store: one process).
_RECORDING = threading.Lock()


def observe_and_record(
    store: FraudSignalStore, sighting: ApplicationSighting, rules: Iterable[FraudRule]
) -> dict[str, Any]:
    """``observe``, then record the sighting, as one step: two identical applications
    arriving at the same instant cannot both be counted as the first."""
    if isinstance(store, FraudSignalCounter):
        return _observe_counted(store, sighting, rules, record=True)
    with _RECORDING:
        observations = observe(store, sighting, rules)
        store.record(sighting)
    return observations


def _observe_counted(
    store: FraudSignalCounter,
    sighting: ApplicationSighting,
    rules: Iterable[FraudRule],
    *,
    record: bool = False,
) -> dict[str, Any]:
    """The same numbers as ``observe``'s loop, asked of the store in one batch (one SQL
    statement for a database) instead of reading every past sighting back."""
    observations: dict[str, Any] = {}
    queries: dict[str, DistinctCount] = {}
    for rule in rules:
        if rule.measure in observations or rule.measure in queries:
            continue
        anchor = "national_id" if rule.kind == "spread" else rule.identifier
        if not getattr(sighting, anchor):
            observations[rule.measure] = 0
            continue
        counted = _COUNTED[rule.kind] or rule.identifier
        queries[rule.measure] = DistinctCount(
            anchor, counted, _window(sighting.on, rule.window_days), sighting.on
        )
    if record:
        counts = store.count_and_record(sighting, list(queries.values()))
    else:
        counts = store.count_distinct(sighting, list(queries.values())) if queries else []
    observations.update(zip(queries, counts, strict=True))
    observations["blacklisted"] = sorted(store.blacklisted(sighting))
    return observations


def fraud_hits(rules: Iterable[FraudRule], observations: Mapping[str, Any]) -> list[FraudHit]:
    """Rules whose observed count is above their limit, in rule order."""
    hits = []
    for rule in rules:
        observed = int(observations.get(rule.measure, 0))
        if observed > rule.limit:
            hits.append(FraudHit(rule.code, rule.action, observed, rule.limit))
    return hits


class InMemoryFraudSignalStore:
    """A ``FraudSignalStore`` in process memory (tests, single-process demos)."""

    def __init__(self, blacklist: Mapping[str, Iterable[str]] | None = None) -> None:
        self._index: dict[tuple[str, str], dict[str, ApplicationSighting]] = defaultdict(dict)
        self._blacklist: dict[str, set[str]] = {k: set(v) for k, v in (blacklist or {}).items()}
        self._lock = threading.Lock()

    def record(self, sighting: ApplicationSighting) -> None:
        with self._lock:
            for name in IDENTIFIERS:
                value = getattr(sighting, name)
                if value:
                    self._index[(name, value)][sighting.application_id] = sighting

    def sightings(
        self, identifier: str, value: str, since: dt.date, until: dt.date
    ) -> list[ApplicationSighting]:
        with self._lock:
            found = list(self._index.get((identifier, value), {}).values())
        return [s for s in found if since <= s.on <= until]

    def is_blacklisted(self, identifier: str, value: str) -> bool:
        with self._lock:
            return value in self._blacklist.get(identifier, ())

    def add_to_blacklist(self, identifier: str, value: str) -> None:
        if identifier not in IDENTIFIERS:
            raise ValueError(f"unknown identifier {identifier!r}")
        with self._lock:
            self._blacklist.setdefault(identifier, set()).add(value)
