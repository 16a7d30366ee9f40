"""The rulebook comes from settings: a JSON file when set, the built-in rules otherwise."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from mobilend.bootstrap.infra import load_rulebook
from mobilend.config import Settings
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money

RULES = {
    "cost_caps": [
        {"limit": "0.24"},
        {"lpr_multiple": "4", "licence_type": "micro-lender", "effective_from": "2026-03-01"},
    ],
    "lpr": [["2025-05-20", "0.030"]],
    "rules": [{"rule": "borrower_cap", "value": "100000", "licence_type": "micro-lender"}],
}


def test_no_file_means_the_built_in_rules() -> None:
    rules = load_rulebook(Settings(compliance_rules=None))
    assert rules.version == "default"
    assert rules.cap_for("micro-lender", dt.date(2026, 1, 1)).limit == Decimal("0.24")
    assert rules.borrower_cap("micro-lender", dt.date(2026, 1, 1)) == Money("200000")


def test_the_file_sets_dated_rules_and_names_the_version(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES), "utf-8")
    rules = load_rulebook(Settings(compliance_rules=path))
    assert rules.version.startswith("rules-") and len(rules.version) == len("rules-") + 12
    assert rules.cap_for("micro-lender", dt.date(2026, 2, 28)).limit == Decimal("0.24")
    assert rules.cap_for("micro-lender", dt.date(2026, 3, 1)).limit == Decimal("0.120")
    assert rules.borrower_cap("micro-lender", dt.date(2026, 1, 1)) == Money("100000")
    assert rules.borrower_cap("bank", dt.date(2026, 1, 1)) == Money("200000")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**RULES, "lpr": [["2025-05-20", "0.031"]]}), "utf-8")
    assert load_rulebook(Settings(compliance_rules=other)).version != rules.version


def test_a_malformed_rule_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"rules": [{"rule": "borrower_cap", "value": "lots"}]}), "utf-8")
    with pytest.raises(ValidationFailed):
        load_rulebook(Settings(compliance_rules=path))
