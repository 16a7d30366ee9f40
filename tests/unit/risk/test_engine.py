"""The decision engine with in-process sources and a small stand-in PD model: source order
and early stops, costs, failures → refer, reasons, replay byte for byte, market overlay,
champion/challenger, fraud and the feature builder shared with training."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from risk_helpers import (
    DECISION_DATE,
    ConstantScorer,
    RuleScorer,
    StubSource,
    applicant,
    clean_sources,
    dataset,
    stub_sources,
)

from mobilend.domain.money import Money
from mobilend.risk.engine import ReplayError, ReplayMismatch, RiskDecisionEngine
from mobilend.risk.feature_builder import FEATURE_COLUMNS, build_features
from mobilend.risk.fraud import InMemoryFraudSignalStore
from mobilend.risk.policy import FILES_DIR, PolicyBook, UnknownProduct
from mobilend.risk.ports import SourceReport
from mobilend.risk.records import InMemoryDecisionRecordStore, canonical_json
from mobilend.risk.scoring import Challenger, MarketCondition, MarketOverlay
from mobilend.sandbox.credit_profiles import bureau_report, ecommerce_profile

BOOK = PolicyBook()
REASON_CODES = set(BOOK.reason_texts)


def make_engine(
    sources: dict[str, Any] | None = None, scorer: Any = None, **options: Any
) -> RiskDecisionEngine:
    options.setdefault("fraud_store", InMemoryFraudSignalStore())
    options.setdefault("records", InMemoryDecisionRecordStore())
    options.setdefault("policies", BOOK)
    return RiskDecisionEngine(
        scorer=scorer or RuleScorer(),
        sources=sources if sources is not None else clean_sources(),
        **options,
    )


def calls(sources: dict[str, StubSource]) -> dict[str, int]:
    return {name: s.calls for name, s in sources.items()}


# --------------------------------------------------------------------------- order and early stops


def test_application_knockout_stops_before_any_paid_call() -> None:
    sources = clean_sources()
    decision, record = make_engine(sources).decide_with_record(
        applicant(1, birth=dt.date(2009, 1, 1)), DECISION_DATE
    )
    assert decision.outcome == "decline"
    assert [r.code for r in decision.reasons] == ["KO_AGE_BELOW_MIN"]
    assert calls(sources) == {"telco": 0, "bureau": 0, "ecommerce": 0}
    assert record["sources_called"] == [] and record["costs"]["total"]["amount"] == "0.00"


def test_telco_knockout_stops_before_the_bureau() -> None:
    sources = clean_sources(telco={"real_name_match": False})
    decision, record = make_engine(sources).decide_with_record(applicant(2), DECISION_DATE)
    assert (decision.outcome, [r.code for r in decision.reasons]) == (
        "decline",
        ["KO_PHONE_NAME_MISMATCH"],
    )
    assert calls(sources) == {"telco": 1, "bureau": 0, "ecommerce": 0}
    assert record["costs"]["total"] == {"amount": "0.50", "currency": "CNY"}


def test_bureau_knockout_stops_before_e_commerce() -> None:
    sources = clean_sources(
        bureau={"loans": {"current_overdue_fen": 12_000}, "queries": {"last_30d": 9}}
    )
    decision, record = make_engine(sources).decide_with_record(
        applicant(3, product="phone"), DECISION_DATE
    )
    assert [r.code for r in decision.reasons] == ["KO_CURRENT_OVERDUE", "KO_QUERIES_30D"]
    assert calls(sources) == {"telco": 1, "bureau": 1, "ecommerce": 0}
    assert record["sources_called"] == ["telco", "bureau"]
    assert record["costs"]["by_source"] == {
        "telco": {"amount": "0.50", "currency": "CNY"},
        "bureau": {"amount": "2.00", "currency": "CNY"},
    }


def test_phone_instalment_always_buys_consumption_data() -> None:
    sources = clean_sources()
    app = applicant(
        4,
        product="phone",
        declared={"requested_amount": "6000", "purchase_price": "6999", "term_months": 12},
    )
    decision, record = make_engine(sources, ConstantScorer(0.01)).decide_with_record(
        app, DECISION_DATE
    )
    assert decision.outcome == "approve"
    assert calls(sources) == {"telco": 1, "bureau": 1, "ecommerce": 1}
    assert record["costs"]["total"]["amount"] == "2.80"
    assert decision.limit == Money("6200") and decision.reasons[0].code == "LIMIT_BY_PURCHASE_PRICE"
    assert decision.expires_on == DECISION_DATE + dt.timedelta(days=7)
    assert decision.annual_rate == Decimal("0.08")


def test_cash_loan_skips_e_commerce_when_the_score_is_clearly_good_and_income_known() -> None:
    sources = clean_sources()
    decision, record = make_engine(sources, ConstantScorer(0.005)).decide_with_record(
        applicant(5), DECISION_DATE
    )
    assert decision.outcome == "approve"
    assert calls(sources)["ecommerce"] == 0
    assert record["costs"]["total"]["amount"] == "2.50"
    assert record["workings"]["final_score"] == record["workings"]["pre_score"]


def test_cash_loan_clear_decline_does_not_pay_for_e_commerce() -> None:
    sources = clean_sources()
    decision = make_engine(sources, ConstantScorer(0.9)).decide(applicant(6), DECISION_DATE)
    assert decision.outcome == "decline" and calls(sources)["ecommerce"] == 0
    assert [r.code for r in decision.reasons] == ["SCORE_BELOW_CUTOFF", "R_AGE", "R_JOB", "R_HOME"]
    assert decision.limit is None and decision.annual_rate is None


@pytest.mark.parametrize(
    ("pd", "income"), [(0.184, "8000"), (0.005, None)], ids=["grey-zone-score", "income-unknown"]
)
def test_cash_loan_buys_e_commerce_when_still_needed(pd: float, income: str | None) -> None:
    sources = clean_sources()
    decision, record = make_engine(sources, ConstantScorer(pd)).decide_with_record(
        applicant(7, income=income), DECISION_DATE
    )
    assert calls(sources)["ecommerce"] == 1
    assert record["sources_called"] == ["telco", "bureau", "ecommerce"]
    assert decision.outcome in ("approve", "refer")


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("failing", "product", "code"),
    [
        ("telco", "cash", "DATA_TELCO_UNAVAILABLE"),
        ("bureau", "cash", "DATA_BUREAU_UNAVAILABLE"),
        ("ecommerce", "phone", "DATA_ECOMMERCE_UNAVAILABLE"),
    ],
)
@pytest.mark.parametrize("reason", ["timeout", "server_error", "circuit_open", "crash"])
def test_a_source_that_cannot_answer_leads_to_refer_never_approval(
    failing, product, code, reason
) -> None:
    sources = clean_sources()
    sources[failing].fail_with = reason
    engine = make_engine(sources, ConstantScorer(0.001))  # the best possible score
    decision, record = engine.decide_with_record(applicant(8, product=product), DECISION_DATE)
    assert decision.outcome == "refer"
    assert decision.reasons[0].code == code and decision.limit is None
    failed = [e for e in record["inputs"]["sources"] if e["status"] == "unavailable"]
    assert [e["source"] for e in failed] == [failing]
    assert failing not in record["costs"]["by_source"]
    assert engine.replay(record) == decision


def test_no_income_anywhere_is_referred() -> None:
    sources = clean_sources(ecommerce={"income_estimate_fen": None})
    decision = make_engine(sources, ConstantScorer(0.01)).decide(
        applicant(9, income=None), DECISION_DATE
    )
    assert decision.outcome == "refer" and decision.reasons[0].code == "INCOME_UNVERIFIED"


def test_debts_that_leave_no_room_decline_with_the_reason() -> None:
    sources = clean_sources(bureau={"loans": {"monthly_repayment_fen": 400_000}},
                            ecommerce={"income_estimate_fen": 800_000})  # fmt: skip
    decision = make_engine(sources, ConstantScorer(0.01)).decide(applicant(10), DECISION_DATE)
    assert decision.outcome == "decline"
    assert [r.code for r in decision.reasons][:2] == [
        "LIMIT_BELOW_MINIMUM",
        "LIMIT_BY_AFFORDABILITY",
    ]


def test_unknown_product_is_an_error_not_a_decision() -> None:
    with pytest.raises(UnknownProduct):
        make_engine().decide(applicant(11, product="mortgage"), DECISION_DATE)


# --------------------------------------------------------------------------- reasons and replay


def population(n: int = 160, start: int = 100) -> list:
    products = ("cash", "phone", "sme")
    people = []
    for i in range(start, start + n):
        product = products[i % 3]
        declared = {"requested_amount": "8000", "term_months": 12}
        if product == "phone":
            declared["purchase_price"] = "5999"
        people.append(
            applicant(
                i,
                product=product,
                region="310104",
                income=None if i % 5 == 0 else "7000",
                declared=declared,
            )
        )
    return people


@pytest.fixture(scope="module")
def decided() -> tuple[RiskDecisionEngine, InMemoryDecisionRecordStore, list]:
    records = InMemoryDecisionRecordStore()
    engine = make_engine(stub_sources(), RuleScorer(), records=records)
    results = [engine.decide_with_record(a, DECISION_DATE) for a in population()]
    return engine, records, results


def test_population_gets_every_outcome_and_declines_carry_one_to_four_known_reasons(
    decided,
) -> None:
    _, _, results = decided
    outcomes = {d.outcome for d, _ in results}
    assert outcomes == {"approve", "decline", "refer"}
    for decision, _ in results:
        assert len(decision.reasons) <= 4
        codes = [r.code for r in decision.reasons]
        assert len(set(codes)) == len(codes)
        for reason in decision.reasons:
            assert reason.code in REASON_CODES or reason.code.startswith("R_")
            assert reason.text_zh and reason.text_en
        if decision.outcome == "decline":
            assert 1 <= len(decision.reasons) <= 4 and decision.limit is None
        if decision.outcome == "approve":
            assert decision.limit is not None and decision.limit.amount % 100 == 0
            assert decision.annual_rate <= Decimal("0.24")


class _Untouchable:
    """Stands for sources and stores that a replay must never use."""

    def fetch(self, *args: Any) -> Any:
        raise AssertionError("replay called a data source")

    def sightings(self, *args: Any) -> Any:
        raise AssertionError("replay read the fraud store")

    record = is_blacklisted = sightings


def test_replay_rebuilds_every_stored_record_byte_for_byte_without_io(decided) -> None:
    _, records, results = decided
    replayer = RiskDecisionEngine(
        scorer=RuleScorer(), sources={n: _Untouchable() for n in ("telco", "bureau", "ecommerce")},
        fraud_store=_Untouchable(), policies=BOOK,
    )  # fmt: skip
    for decision, _record in results:
        stored = records.raw(decision.decision_id)
        replayed, rebuilt = replayer.replay_record(json.loads(stored))
        assert canonical_json(rebuilt) == stored
        assert replayed == decision


def test_a_tampered_record_is_refused(decided) -> None:
    engine, records, results = decided
    decision = next(
        d for d, r in results if d.outcome == "approve" and "ecommerce" in r["sources_called"]
    )
    record = json.loads(records.raw(decision.decision_id))
    record["result"]["limit"]["amount"] = "49900"
    with pytest.raises(ReplayMismatch) as caught:
        engine.replay(record)
    assert "result" in caught.value.differing
    record = json.loads(records.raw(decision.decision_id))
    bureau = next(e for e in record["inputs"]["sources"] if e["source"] == "bureau")
    bureau["payload"]["repayment_history"]["overdue_events_24m"] = 3
    with pytest.raises(ReplayMismatch):
        engine.replay(record)


def test_replay_needs_the_same_model_and_the_same_policy_files(decided, tmp_path: Path) -> None:
    _, records, results = decided
    record = json.loads(records.raw(results[0][0].decision_id))
    with pytest.raises(ReplayError, match="model version"):
        make_engine(scorer=RuleScorer(version="rule-2")).replay(record)
    root = tmp_path / "files"
    shutil.copytree(FILES_DIR, root)
    scenario = record["policy"]["scenario"]
    limits = root / scenario / "v1" / "limits.json"
    limits.write_text(limits.read_text("utf-8") + "\n", "utf-8")
    with pytest.raises(ReplayError, match="changed"):
        make_engine(policies=PolicyBook(root)).replay(record)


def test_same_inputs_same_record() -> None:
    people = population(30, start=500)
    first = [make_engine(stub_sources()).decide_with_record(a, DECISION_DATE)[1] for a in people]
    second = [make_engine(stub_sources()).decide_with_record(a, DECISION_DATE)[1] for a in people]
    assert [canonical_json(r) for r in first] == [canonical_json(r) for r in second]


def test_cached_reports_cost_nothing_and_are_recorded_as_cached() -> None:
    class Cached(StubSource):
        def fetch(self, applicant, on):
            report = super().fetch(applicant, on)
            return SourceReport(report.source, report.payload, report.data_version,
                                on - dt.timedelta(days=5), Money("0"), cached=True)  # fmt: skip

    sources = clean_sources()
    sources["bureau"] = Cached("bureau", sources["bureau"].patch)
    _, record = make_engine(sources, ConstantScorer(0.005)).decide_with_record(
        applicant(12), DECISION_DATE
    )
    bureau = next(e for e in record["inputs"]["sources"] if e["source"] == "bureau")
    assert bureau["cached"] is True and bureau["fetched_on"] == "2026-10-28"
    assert record["costs"]["total"]["amount"] == "0.50"


# --------------------------------------------------------------------------- market, challenger, fraud


def test_market_stress_raises_pd_tightens_cutoffs_and_limits_from_its_date() -> None:
    stress = MarketCondition(
        "stress-2026-12", dt.date(2026, 12, 1), Decimal("2"), 10, Decimal("0.5"), "压力", "stress"
    )
    overlay = MarketOverlay([MarketCondition("base", dt.date(2020, 1, 1)), stress])
    app = applicant(13)
    before, rec_before = make_engine(
        overlay=overlay, scorer=ConstantScorer(0.02)
    ).decide_with_record(app, dt.date(2026, 11, 30))
    after, rec_after = make_engine(overlay=overlay, scorer=ConstantScorer(0.02)).decide_with_record(
        app, dt.date(2026, 12, 1)
    )
    assert (before.versions["market"], after.versions["market"]) == ("base", "stress-2026-12")
    pre, post = rec_before["workings"]["final_score"], rec_after["workings"]["final_score"]
    assert (
        post["pd"] == pre["pd"]
        and post["stressed_pd"] > pre["stressed_pd"]
        and post["score"] < pre["score"]
    )
    assert before.outcome == after.outcome == "approve"
    assert after.limit < before.limit
    assert "MARKET_STRESS" in [r.code for r in after.reasons]
    assert make_engine(overlay=overlay, scorer=ConstantScorer(0.02)).replay(rec_after) == after


def test_champion_challenger_splits_traffic_stably_and_records_the_arm() -> None:
    challenger = Challenger(
        "lgbm-2027", Decimal("0.3"), scorer=RuleScorer("rule-challenger", shift=0.5)
    )
    engine = make_engine(stub_sources(), challenger=challenger)
    people = population(200, start=1000)
    results = [engine.decide_with_record(a, DECISION_DATE) for a in people]
    arms = [d.versions["arm"] for d, _ in results]
    share = arms.count("challenger") / len(arms)
    assert 0.2 < share < 0.4
    again = make_engine(stub_sources(), challenger=challenger)
    assert [again.decide(a, DECISION_DATE).versions["arm"] for a in people[:40]] == arms[:40]
    for decision, record in results:
        if decision.versions["arm"] == "challenger":
            assert (
                decision.versions["model"] == "rule-challenger"
                and decision.versions["challenger"] == "lgbm-2027"
            )
            if "final_score" in record["workings"]:
                assert record["workings"]["shadow_score"]["model_version"] == "rule-1"
        else:
            assert (
                decision.versions["model"] == "rule-1" and "shadow_score" not in record["workings"]
            )
        assert engine.replay(record) == decision


def test_a_challenger_policy_version_decides_its_share(tmp_path: Path) -> None:
    root = tmp_path / "files"
    shutil.copytree(FILES_DIR, root)
    shutil.copytree(root / "cash" / "v1", root / "cash" / "v2")
    manifest = json.loads((root / "cash" / "v2" / "policy.json").read_text("utf-8"))
    manifest.update(version="v2", product_max="3000")
    (root / "cash" / "v2" / "policy.json").write_text(json.dumps(manifest), "utf-8")
    engine = make_engine(policies=PolicyBook(root), scorer=ConstantScorer(0.01),
                         challenger=Challenger("tight-max", Decimal("0.5"), policy_version="v2"))  # fmt: skip
    decisions = [engine.decide(applicant(2000 + i), DECISION_DATE) for i in range(40)]
    by_arm = {
        arm: [d for d in decisions if d.versions["arm"] == arm]
        for arm in ("champion", "challenger")
    }
    assert by_arm["champion"] and by_arm["challenger"]
    assert all(
        d.versions["policy"] == "cash/v2" and d.limit == Money("3000") for d in by_arm["challenger"]
    )
    assert all(
        d.versions["policy"] == "cash/v1" and d.limit > Money("3000") for d in by_arm["champion"]
    )


def test_fraud_ring_on_one_device_is_declined_before_paying_for_data() -> None:
    store = InMemoryFraudSignalStore()
    sources = clean_sources()
    engine = make_engine(sources, ConstantScorer(0.01), fraud_store=store)
    outcomes = [
        engine.decide(applicant(3000 + i, device_id="ring-phone"), DECISION_DATE) for i in range(4)
    ]
    assert [d.outcome for d in outcomes[:2]] == ["approve", "approve"]
    for decision in outcomes[2:]:
        assert decision.outcome == "decline"
        assert "FRAUD_DEVICE_SHARED" in [r.code for r in decision.reasons]
    assert sources["telco"].calls == 2


def test_blacklist_student_and_birth_date_checks_come_from_the_application() -> None:
    blacklisted = applicant(4000)
    store = InMemoryFraudSignalStore({"bank_card": [blacklisted.bank_card]})
    engine = make_engine(fraud_store=store)
    assert [r.code for r in engine.decide(blacklisted, DECISION_DATE).reasons] == ["KO_BLACKLIST"]
    student = applicant(4001, declared={"occupation": "student"})
    assert [r.code for r in engine.decide(student, DECISION_DATE).reasons] == ["KO_STUDENT"]
    wrong_birth = applicant(4002, birth_date=dt.date(1991, 5, 17))
    assert [r.code for r in engine.decide(wrong_birth, DECISION_DATE).reasons] == [
        "KO_ID_BIRTHDATE_MISMATCH"
    ]
    sme_far_away = applicant(4003, product="sme", region="510104")
    assert [r.code for r in engine.decide(sme_far_away, DECISION_DATE).reasons] == [
        "KO_REGION_UNSUPPORTED"
    ]


# --------------------------------------------------------------------------- features shared with training


def test_features_from_sandbox_reports_equal_the_dataset_row_they_came_from() -> None:
    data = dataset()
    checked = 0
    for seq in range(300):
        app = applicant(seq)
        row = data.row_for(app.national_id)
        reports = {
            "bureau": bureau_report(row, app.national_id, True),
            "ecommerce": ecommerce_profile(row, app.national_id),
        }
        features = build_features({"national_id": app.national_id, "declared": {}}, DECISION_DATE, reports,
                                   default_amount="10000", default_term_months=12)  # fmt: skip
        assert tuple(features) == FEATURE_COLUMNS
        expected = {
            "Seniority": float(row.seniority), "Home": row.home, "Marital": row.marital,
            "Records": row.records, "Job": row.job, "Expenses": float(row.expenses),
            "Income": None if row.income is None else float(row.income),
            "Assets": None if row.assets is None else float(row.assets),
            "Debt": None if row.debt is None else float(row.debt),
        }  # fmt: skip
        assert {k: features[k] for k in expected} == expected
        assert features["Age"] == 36.0 and features["Amount"] == 250.0 and features["Time"] == 12.0
        checked += 1
    assert checked == 300


def test_declared_values_fill_in_when_a_source_was_not_bought() -> None:
    features = build_features(
        {"national_id": applicant(1).national_id, "monthly_income": {"amount": "6000", "currency": "CNY"},
         "declared": {"requested_amount": {"amount": "4000", "currency": "CNY"}, "purchase_price": "5200",
                      "term_months": 6, "employment_years": 3}},
        DECISION_DATE, {}, default_amount="10000", default_term_months=12,
    )  # fmt: skip
    assert (
        features["Income"] == 150.0 and features["Amount"] == 100.0 and features["Price"] == 130.0
    )
    assert features["Time"] == 6.0 and features["Seniority"] == 3.0
    assert features["Expenses"] is None and features["Records"] is None


def test_a_model_that_needs_other_features_is_refused() -> None:
    class GermanModel(RuleScorer):
        feature_names = ("duration_in_month", "Age")

    with pytest.raises(ValueError, match="duration_in_month"):
        make_engine(scorer=GermanModel())


# --------------------------------------------------------------------------- the rulebook


def _cash_product() -> Any:
    from mobilend.app.lending.catalogue import DEMO_PRODUCTS
    from mobilend.domain.products_state import product_from_state

    return product_from_state(dict(next(d for d in DEMO_PRODUCTS if d["code"] == "cash")))


def test_with_the_product_known_the_price_fits_its_offers_apr_and_names_the_rulebook() -> None:
    from mobilend.domain.compliance import CostCap, CostCapPolicy

    product = _cash_product()
    strict = CostCapPolicy([CostCap(Decimal("0.10"))], version="strict-10")
    engine = make_engine(
        scorer=ConstantScorer(0.005), cost_caps=strict, products=lambda code: product
    )
    decision, record = engine.decide_with_record(applicant(71), DECISION_DATE)
    assert decision.outcome == "approve" and decision.annual_rate is not None
    price = record["workings"]["price"]
    assert price["capped"] and price["rulebook"] == "strict-10"
    assert record["versions"]["rulebook"] == "strict-10"
    # Every offer the product can make at that rate has its APR within the 10 % cap.
    assert decision.annual_rate == strict.max_rate(product, DECISION_DATE)
    assert decision.annual_rate < Decimal("0.10")


def test_existing_exposure_by_identity_lowers_the_limit_to_the_room_under_the_cap() -> None:
    engine = make_engine(scorer=ConstantScorer(0.005))
    alone = engine.decide(applicant(72), DECISION_DATE)
    assert alone.outcome == "approve" and alone.limit is not None
    owes = applicant(73, declared={"existing_credit_limits": "199000.00"})
    near_cap, record = make_engine(scorer=ConstantScorer(0.005)).decide_with_record(
        owes, DECISION_DATE
    )
    # ¥200,000 per person less the ¥199,000 they already owe or may draw elsewhere
    assert (near_cap.outcome, near_cap.limit) == ("approve", Money("1000"))
    assert near_cap.reasons[0].code == "LIMIT_BY_REGULATORY_CAP"
    assert record["workings"]["limit"]["binding"] == "regulatory_cap"
    assert near_cap.limit < alone.limit


def test_a_replay_uses_the_recorded_price_when_the_rules_have_changed_since() -> None:
    from mobilend.domain.compliance import CostCap, CostCapPolicy

    product = _cash_product()
    then = CostCapPolicy([CostCap(Decimal("0.12"))], version="then")
    records = InMemoryDecisionRecordStore()
    engine = make_engine(
        scorer=ConstantScorer(0.005), cost_caps=then, products=lambda code: product,
        records=records,
    )  # fmt: skip
    decision = engine.decide(applicant(74), DECISION_DATE)
    stored = records.raw(decision.decision_id)
    now = make_engine(
        scorer=ConstantScorer(0.005),
        cost_caps=CostCapPolicy([CostCap(Decimal("0.08"))], version="now"),
        products=lambda code: product,
    )
    replayed, rebuilt = now.replay_record(json.loads(stored))
    assert canonical_json(rebuilt) == stored and replayed == decision
    # Deciding afresh under today's rules gives another price: the replay did not.
    fresh = now.decide(applicant(74), DECISION_DATE)
    assert fresh.annual_rate is not None and decision.annual_rate is not None
    assert fresh.annual_rate < decision.annual_rate
