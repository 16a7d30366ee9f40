"""Fraud checks: every velocity, shared-identifier and spread rule fires one step past its
limit and not at it; windows slide; blacklists; the rules file is validated."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from mobilend.risk.fraud import (
    FraudRule,
    FraudRuleError,
    InMemoryFraudSignalStore,
    fraud_hits,
    observe,
    parse_rules,
)
from mobilend.risk.policy import PolicyBook
from mobilend.risk.ports import ApplicationSighting

ON = dt.date(2026, 11, 2)
RULES = {s: parse_rules(PolicyBook().get(s).fraud_rules) for s in ("cash", "phone", "sme")}
ALL_RULES = [(s, r) for s, rules in RULES.items() for r in rules]


def sighting(n: int, on: dt.date = ON, **fields: str) -> ApplicationSighting:
    values = {
        "application_id": f"A{n}",
        "on": on,
        "national_id": f"ID{n}",
        "phone": f"P{n}",
        "device_id": f"D{n}",
        "ip_address": f"IP{n}",
        "bank_card": f"C{n}",
    }
    values.update(fields)
    return ApplicationSighting(**values)


def history_for(
    rule: FraudRule, others: int, current: ApplicationSighting
) -> list[ApplicationSighting]:
    """``others`` earlier applications, inside the rule's window, that the rule counts."""
    on = current.on - dt.timedelta(days=rule.window_days - 1)  # the window's first day
    past = []
    for i in range(others):
        if rule.kind == "velocity":  # same identifier, same person, another application
            s = sighting(100 + i, on, national_id=current.national_id)
            s = replace(s, **{rule.identifier: getattr(current, rule.identifier)})
        elif rule.kind == "shared":  # same identifier, another person
            s = replace(
                sighting(100 + i, on), **{rule.identifier: getattr(current, rule.identifier)}
            )
        else:  # same person, another value of the identifier
            s = sighting(100 + i, on, national_id=current.national_id)
        past.append(s)
    return past


def codes_after(rule: FraudRule, others: int) -> list[str]:
    store = InMemoryFraudSignalStore()
    current = sighting(1)
    for s in history_for(rule, others, current):
        store.record(s)
    return [h.code for h in fraud_hits([rule], observe(store, current, [rule]))]


@pytest.mark.parametrize(
    ("scenario", "rule"), ALL_RULES, ids=[f"{s}-{r.code}" for s, r in ALL_RULES]
)
def test_each_rule_fires_one_past_its_limit_and_not_at_it(scenario: str, rule: FraudRule) -> None:
    # The current application counts too: `limit` others make limit + 1.
    assert codes_after(rule, rule.limit) == [rule.code]
    assert codes_after(rule, rule.limit - 1) == []


def test_rules_cover_every_identifier_and_kind() -> None:
    rules = RULES["cash"]
    assert {r.identifier for r in rules if r.kind == "velocity"} == {
        "national_id", "phone", "device_id", "bank_card", "ip_address",
    }  # fmt: skip
    assert {r.identifier for r in rules if r.kind == "shared"} >= {
        "device_id",
        "phone",
        "bank_card",
    }
    assert {r.kind for r in rules} == {"velocity", "shared", "spread"}


def test_velocity_window_slides() -> None:
    rule = FraudRule("velocity", "FRAUD_DEVICE_VELOCITY", "device_id", 7, 2, "decline")
    store = InMemoryFraudSignalStore()
    current = sighting(1, device_id="shared-device")
    for i, days_ago in enumerate((7, 8, 30)):  # all just outside the 7-day window
        store.record(sighting(10 + i, ON - dt.timedelta(days=days_ago), device_id="shared-device"))
    assert observe(store, current, [rule])[rule.measure] == 1
    store.record(sighting(20, ON - dt.timedelta(days=6), device_id="shared-device"))
    store.record(sighting(21, ON, device_id="shared-device"))
    assert observe(store, current, [rule])[rule.measure] == 3
    assert [h.code for h in fraud_hits([rule], observe(store, current, [rule]))] == [
        "FRAUD_DEVICE_VELOCITY"
    ]


def test_one_device_used_by_many_ids_is_a_shared_identifier_hit() -> None:
    rule = FraudRule("shared", "FRAUD_DEVICE_SHARED", "device_id", 90, 2, "decline")
    store = InMemoryFraudSignalStore()
    # The same person on the same device many times is not sharing.
    for i in range(5):
        store.record(sighting(10 + i, national_id="ID1", device_id="dev-x"))
    assert fraud_hits([rule], observe(store, sighting(1, device_id="dev-x"), [rule])) == []
    store.record(sighting(30, national_id="ID30", device_id="dev-x"))
    store.record(sighting(31, national_id="ID31", device_id="dev-x"))
    hit = fraud_hits([rule], observe(store, sighting(1, device_id="dev-x"), [rule]))
    assert [(h.code, h.observed, h.limit) for h in hit] == [("FRAUD_DEVICE_SHARED", 3, 2)]


def test_the_current_application_is_never_counted_twice() -> None:
    rule = FraudRule("velocity", "FRAUD_ID_VELOCITY", "national_id", 7, 1, "refer")
    store = InMemoryFraudSignalStore()
    current = sighting(1)
    store.record(current)  # e.g. the same application decided a second time
    store.record(current)
    assert observe(store, current, [rule])[rule.measure] == 1


def test_empty_identifiers_are_not_matched() -> None:
    rule = FraudRule("shared", "FRAUD_DEVICE_SHARED", "device_id", 90, 1, "decline")
    store = InMemoryFraudSignalStore()
    for i in range(5):
        store.record(sighting(10 + i, device_id=""))
    assert observe(store, sighting(1, device_id=""), [rule])[rule.measure] == 0


def test_blacklisted_identifiers_are_reported_by_kind() -> None:
    store = InMemoryFraudSignalStore({"phone": ["P1"]})
    store.add_to_blacklist("device_id", "D1")
    assert observe(store, sighting(1), [])["blacklisted"] == ["device_id", "phone"]
    assert observe(store, sighting(2), [])["blacklisted"] == []
    with pytest.raises(ValueError):
        store.add_to_blacklist("email", "x@example.com")


@pytest.mark.parametrize(
    "entry",
    [
        {
            "velocity": [
                {
                    "code": "X",
                    "identifier": "email",
                    "window_days": 1,
                    "max_applications": 1,
                    "action": "decline",
                }
            ]
        },
        {
            "velocity": [
                {
                    "code": "X",
                    "identifier": "phone",
                    "window_days": 0,
                    "max_applications": 1,
                    "action": "decline",
                }
            ]
        },
        {
            "shared": [
                {
                    "code": "X",
                    "identifier": "phone",
                    "window_days": 1,
                    "max_people": 1,
                    "action": "ban",
                }
            ]
        },
        {"shared": [{"code": "X", "identifier": "phone", "window_days": 1, "action": "decline"}]},
        {
            "spread": [
                {
                    "code": "X",
                    "identifier": "national_id",
                    "window_days": 1,
                    "max_values": 1,
                    "action": "refer",
                }
            ]
        },
    ],
)
def test_bad_rules_are_refused(entry: dict) -> None:
    with pytest.raises(FraudRuleError):
        parse_rules(entry)
