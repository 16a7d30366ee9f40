"""Policy files: every knock-out fires on its case and stays quiet on the neighbouring one;
bands, limit and price tables are ordered; versions are hashed; bad files are refused."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from mobilend.domain.money import Money
from mobilend.risk.policy import FILES_DIR, PolicyBook, PolicyError, UnknownProduct

BOOK = PolicyBook()
SCENARIOS = ("cash", "phone", "sme")

# Facts under which no knock-out of any scenario fires, per stage.
CLEAN = {
    "application": {"age": 35, "id_valid": True, "id_birth_match": True, "is_student": False,
                    "province": "31", "blacklist_hits": 0},
    "telco": {"real_name_match": True, "phone_status": "active", "phone_tenure_months": 48},
    "bureau": {"name_match": True, "current_overdue_fen": 0, "queries_30d": 1, "queries_90d": 2,
               "new_lenders_30d": 0, "new_lenders_90d": 1},
    "ecommerce": {"return_rate": 0.05, "merchant_active_months": 24},
}  # fmt: skip

# (scenario, stage, code, action, {field: value that fires}, {field: nearest value that does not})
CASES = [
    *[
        (s, "application", "KO_ID_INVALID", "decline", {"id_valid": False}, {"id_valid": True})
        for s in SCENARIOS
    ],
    *[
        (s, "application", "KO_ID_BIRTHDATE_MISMATCH", "decline", {"id_birth_match": False}, {"id_birth_match": None})
        for s in SCENARIOS
    ],
    ("cash", "application", "KO_AGE_BELOW_MIN", "decline", {"age": 21}, {"age": 22}),
    ("phone", "application", "KO_AGE_BELOW_MIN", "decline", {"age": 17}, {"age": 18}),
    ("sme", "application", "KO_AGE_BELOW_MIN", "decline", {"age": 21}, {"age": 22}),
    ("cash", "application", "KO_AGE_ABOVE_MAX", "decline", {"age": 56}, {"age": 55}),
    ("phone", "application", "KO_AGE_ABOVE_MAX", "decline", {"age": 56}, {"age": 55}),
    ("sme", "application", "KO_AGE_ABOVE_MAX", "decline", {"age": 61}, {"age": 60}),
    *[(s, "application", "KO_STUDENT", "decline", {"is_student": True}, {"is_student": False}) for s in SCENARIOS],
    *[(s, "application", "KO_BLACKLIST", "decline", {"blacklist_hits": 1}, {"blacklist_hits": 0}) for s in SCENARIOS],
    ("cash", "application", "KO_REGION_UNSUPPORTED", "decline", {"province": "81"}, {"province": "65"}),
    ("phone", "application", "KO_REGION_UNSUPPORTED", "decline", {"province": "71"}, {"province": "11"}),
    ("sme", "application", "KO_REGION_UNSUPPORTED", "decline", {"province": "51"}, {"province": "44"}),
    *[(s, "telco", "KO_PHONE_NAME_MISMATCH", "decline", {"real_name_match": False}, {"real_name_match": True}) for s in SCENARIOS],
    *[(s, "telco", "KO_PHONE_INACTIVE", "decline", {"phone_status": "suspended"}, {"phone_status": "active"}) for s in SCENARIOS],
    ("cash", "telco", "KO_PHONE_TENURE_SHORT", "decline", {"phone_tenure_months": 5}, {"phone_tenure_months": 6}),
    ("phone", "telco", "KO_PHONE_TENURE_SHORT", "decline", {"phone_tenure_months": 2}, {"phone_tenure_months": 3}),
    ("sme", "telco", "KO_PHONE_TENURE_SHORT", "decline", {"phone_tenure_months": 11}, {"phone_tenure_months": 12}),
    *[(s, "bureau", "KO_ID_NAME_MISMATCH", "decline", {"name_match": False}, {"name_match": True}) for s in SCENARIOS],
    *[(s, "bureau", "KO_CURRENT_OVERDUE", "decline", {"current_overdue_fen": 1}, {"current_overdue_fen": 0}) for s in SCENARIOS],
    ("cash", "bureau", "KO_QUERIES_30D", "decline", {"queries_30d": 7}, {"queries_30d": 6}),
    ("phone", "bureau", "KO_QUERIES_30D", "decline", {"queries_30d": 9}, {"queries_30d": 8}),
    ("sme", "bureau", "KO_QUERIES_30D", "decline", {"queries_30d": 7}, {"queries_30d": 6}),
    ("cash", "bureau", "KO_QUERIES_90D", "decline", {"queries_90d": 13}, {"queries_90d": 12}),
    ("phone", "bureau", "KO_QUERIES_90D", "decline", {"queries_90d": 16}, {"queries_90d": 15}),
    ("sme", "bureau", "KO_QUERIES_90D", "decline", {"queries_90d": 13}, {"queries_90d": 12}),
    ("cash", "bureau", "KO_LENDERS_30D", "decline", {"new_lenders_30d": 3}, {"new_lenders_30d": 2}),
    ("phone", "bureau", "KO_LENDERS_30D", "decline", {"new_lenders_30d": 4}, {"new_lenders_30d": 3}),
    ("sme", "bureau", "KO_LENDERS_30D", "decline", {"new_lenders_30d": 3}, {"new_lenders_30d": 2}),
    ("cash", "bureau", "KO_LENDERS_90D", "decline", {"new_lenders_90d": 5}, {"new_lenders_90d": 4}),
    ("phone", "bureau", "KO_LENDERS_90D", "decline", {"new_lenders_90d": 6}, {"new_lenders_90d": 5}),
    ("sme", "bureau", "KO_LENDERS_90D", "decline", {"new_lenders_90d": 5}, {"new_lenders_90d": 4}),
    ("cash", "ecommerce", "KO_HIGH_RETURN_RATE", "refer", {"return_rate": 0.31}, {"return_rate": 0.30}),
    ("phone", "ecommerce", "KO_HIGH_RETURN_RATE", "refer", {"return_rate": 0.26}, {"return_rate": 0.25}),
    ("sme", "ecommerce", "KO_BUSINESS_TOO_NEW", "decline", {"merchant_active_months": 5}, {"merchant_active_months": 6}),
]  # fmt: skip


def _ids(case: tuple) -> str:
    return f"{case[0]}-{case[2]}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_each_knockout_fires_on_its_case_and_not_on_the_neighbour(case: tuple) -> None:
    scenario, stage, code, action, firing, quiet = case
    policy = BOOK.get(scenario)
    hits = policy.knockouts(stage, {**CLEAN[stage], **firing})
    assert [(h.code, h.action, h.stage) for h in hits] == [(code, action, stage)]
    assert policy.knockouts(stage, {**CLEAN[stage], **quiet}) == []


def test_every_knockout_row_has_a_case_and_a_reason_text() -> None:
    covered = {(c[0], c[2]) for c in CASES}
    for scenario in SCENARIOS:
        table = json.loads((FILES_DIR / scenario / "v1" / "knockouts.json").read_text("utf-8"))
        rows = table["nodes"][1]["content"]["rules"]
        for row in rows:
            code = json.loads(row["out_code"])
            assert (scenario, code) in covered, f"{scenario}: no test case for {code}"
            assert code in BOOK.reason_texts, f"{code} has no text in reasons.json"


def test_rules_of_one_stage_never_fire_in_another() -> None:
    policy = BOOK.get("cash")
    everything_wrong = {
        "age": 15,
        "id_valid": False,
        "real_name_match": False,
        "current_overdue_fen": 9,
    }
    by_stage = {
        stage: {h.code for h in policy.knockouts(stage, everything_wrong)} for stage in CLEAN
    }
    assert by_stage["application"] == {"KO_AGE_BELOW_MIN", "KO_ID_INVALID"}
    assert by_stage["telco"] == {"KO_PHONE_NAME_MISMATCH", "KO_PHONE_INACTIVE"}  # status unknown
    assert by_stage["bureau"] == {"KO_CURRENT_OVERDUE"}
    assert by_stage["ecommerce"] == set()


def test_missing_values_do_not_fire_comparisons() -> None:
    policy = BOOK.get("cash")
    assert policy.knockouts("bureau", {"name_match": True}) == []
    assert policy.knockouts("application", {"id_valid": True, "province": "31"}) == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_bands_are_ordered_and_outcomes_monotone(scenario: str) -> None:
    policy = BOOK.get(scenario)
    order = {"decline": 0, "refer": 1, "approve": 2}
    outcomes = [order[policy.band(score).outcome] for score in range(300, 901)]
    assert outcomes == sorted(outcomes)
    assert policy.band(300).outcome == "decline" and policy.band(900).outcome == "approve"
    assert "refer" in {policy.band(s).outcome for s in range(300, 901)}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_better_bands_get_higher_limits_and_lower_rates(scenario: str) -> None:
    policy = BOOK.get(scenario)
    bands = sorted({policy.band(s).band for s in range(300, 901)})  # A is best
    terms = [policy.band_terms(b) for b in bands]
    limits = [t[0] for t in terms]
    rates = [t[1] for t in terms]
    assert limits == sorted(limits, key=lambda m: -m.amount)
    assert rates == sorted(rates)
    assert all(Decimal(0) <= r <= Decimal("0.24") for r in rates)
    assert all(limit <= policy.params.product_max for limit in limits)


def test_scenarios_differ_where_the_business_differs() -> None:
    cash, phone, sme = (BOOK.get(s).params for s in SCENARIOS)
    assert sme.affordability.method == "turnover" and cash.affordability.method == "income"
    assert phone.affordability.max_financed_share_of_price == Decimal("0.90")
    assert sme.product_max == Money("200000") and cash.product_max == Money("50000")
    assert {cash.ecommerce_when, phone.ecommerce_when} == {"grey_zone", "always"}


def test_products_map_to_scenarios() -> None:
    assert BOOK.scenario_for("cash") == "cash"
    assert BOOK.scenario_for("PHONE-24M") == "phone"
    assert BOOK.for_product("sme_working_capital").scenario == "sme"
    with pytest.raises(UnknownProduct):
        BOOK.scenario_for("mortgage")


def test_a_version_is_compiled_once_and_identified_by_its_file_hash(tmp_path: Path) -> None:
    assert BOOK.get("cash") is BOOK.get("cash", "v1")
    root = tmp_path / "files"
    shutil.copytree(FILES_DIR, root)
    original = PolicyBook(root).get("cash")
    assert original.sha256 == BOOK.get("cash").sha256
    limits = root / "cash" / "v1" / "limits.json"
    limits.write_text(limits.read_text("utf-8").replace('"\\"50000\\""', '"\\"45000\\""'), "utf-8")
    edited = PolicyBook(root).get("cash")
    assert edited.sha256 != original.sha256
    assert edited.band_terms("A")[0] == Money("45000")


def test_a_second_version_lives_beside_the_first(tmp_path: Path) -> None:
    root = tmp_path / "files"
    shutil.copytree(FILES_DIR, root)
    shutil.copytree(root / "cash" / "v1", root / "cash" / "v2")
    manifest = json.loads((root / "cash" / "v2" / "policy.json").read_text("utf-8"))
    manifest["version"] = "v2"
    manifest["min_limit"] = "1000"
    (root / "cash" / "v2" / "policy.json").write_text(json.dumps(manifest), "utf-8")
    book = PolicyBook(root)
    assert book.get("cash").version == "v1"  # active.json still names v1
    assert book.get("cash", "v2").params.min_limit == Money("1000")


@pytest.mark.parametrize(
    ("file", "damage"),
    [
        ("policy.json", lambda text: text.replace('"min_limit"', '"minimum"')),
        ("knockouts.json", lambda text: text.replace('"decisionTableNode"', '"noSuchNode"')),
        ("limits.json", None),
    ],
)
def test_a_broken_policy_is_refused_with_a_clear_error(tmp_path: Path, file: str, damage) -> None:
    root = tmp_path / "files"
    shutil.copytree(FILES_DIR, root)
    path = root / "cash" / "v1" / file
    if damage is None:
        path.unlink()
    else:
        path.write_text(damage(path.read_text("utf-8")), "utf-8")
    with pytest.raises(PolicyError):
        PolicyBook(root).get("cash")
