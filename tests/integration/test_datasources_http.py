"""Credit data adapters against the sandbox credit data service over real HTTP: wire
format, determinism, report cache and costs, retries with backoff, timeouts, circuit
breaker, and the decision engine end to end (failures refer, replay needs no network)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_fixtures import ServerThread

from mobilend.adapters.datasources import (
    DEFAULT_SPECS,
    CostMeter,
    InMemoryReportCache,
    build_http_sources,
    with_costs,
    with_ttl,
)
from mobilend.adapters.http_resilience import Backoff
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.fraud import InMemoryFraudSignalStore
from mobilend.risk.ports import DataSourceUnavailable
from mobilend.risk.records import InMemoryDecisionRecordStore
from mobilend.sandbox.credit_data import create_app

# The decision-engine test doubles live with the unit tests; appended, so nothing is shadowed.
sys.path.append(str(Path(__file__).resolve().parents[1] / "unit" / "risk"))
from risk_helpers import DATA_FILE, RuleScorer, applicant

ON = dt.date(2026, 11, 2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CreditSandbox:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.base_url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def fault(self, mode: str, **options: Any) -> None:
        self.admin("POST", "/admin/faults", json={"mode": mode, **options})

    def calls(self) -> dict[str, int]:
        return self.admin("GET", "/admin/stats")["calls"]


@pytest.fixture(scope="module")
def credit_server() -> Iterator[str]:
    thread = ServerThread(create_app(DATA_FILE)).start()
    yield thread.base_url
    thread.stop()


@pytest.fixture
def sandbox(credit_server: str) -> CreditSandbox:
    box = CreditSandbox(credit_server)
    box.admin("POST", "/admin/reset", json={"seed": 7})
    return box


@pytest.fixture
def sleeps() -> list[float]:
    return []


def sources_for(sandbox: CreditSandbox, sleeps: list[float], **options: Any) -> dict[str, Any]:
    options.setdefault("sleep", sleeps.append)  # record the backoff instead of waiting
    options.setdefault("timeout", 2.0)
    return build_http_sources(sandbox.base_url, **options)


def test_each_source_answers_its_wire_format_deterministically(
    sandbox: CreditSandbox, sleeps
) -> None:
    sources = sources_for(sandbox, sleeps)
    person = applicant(1)
    reports = {name: source.fetch(person, ON) for name, source in sources.items()}
    assert reports["bureau"].payload["subject"] == {"name_match": True}
    assert set(reports["bureau"].payload["loans"]) >= {
        "current_overdue_fen",
        "new_lenders_90d",
        "monthly_repayment_fen",
    }
    assert reports["telco"].payload["real_name_match"] is True
    assert isinstance(reports["ecommerce"].payload["monthly_spend_fen"], int)
    assert {r.cost for r in reports.values()} == {Money("2.00"), Money("0.50"), Money("0.30")}
    assert all(
        r.data_version.startswith("credit_data-") and r.fetched_on == ON for r in reports.values()
    )
    sandbox.admin("POST", "/admin/reset", json={})
    again = sources_for(sandbox, sleeps)["bureau"].fetch(person, ON)
    assert again.payload == reports["bureau"].payload
    other = sources["bureau"].fetch(applicant(2), ON)
    assert other.payload["report_id"] != reports["bureau"].payload["report_id"]


def test_identity_checks_follow_the_first_registration(sandbox: CreditSandbox, sleeps) -> None:
    sources = sources_for(sandbox, sleeps)
    owner = applicant(3)
    assert sources["telco"].fetch(owner, ON).payload["real_name_match"] is True
    impostor = applicant(4, phone=owner.phone)  # someone else with the owner's phone
    assert sources["telco"].fetch(impostor, ON).payload["real_name_match"] is False
    wrong_name = applicant(3, full_name="王冒名")
    assert sources["bureau"].fetch(owner, ON).payload["subject"]["name_match"] is True
    assert sources["bureau"].fetch(wrong_name, ON).payload["subject"]["name_match"] is False


def test_a_cached_report_is_reused_within_its_ttl_and_costs_nothing(
    sandbox: CreditSandbox, sleeps
) -> None:
    meter = CostMeter()
    cache = InMemoryReportCache()
    specs = with_ttl(with_costs(DEFAULT_SPECS, {"bureau": Money("2.50")}), {"bureau": 30})
    bureau = sources_for(sandbox, sleeps, specs=specs, cache=cache, meter=meter)["bureau"]
    person = applicant(5)
    first = bureau.fetch(person, ON)
    hit = bureau.fetch(person, ON + dt.timedelta(days=29))
    assert (first.cost, first.cached) == (Money("2.50"), False)
    assert (hit.cost, hit.cached, hit.fetched_on) == (Money("0"), True, ON)
    assert hit.payload == first.payload
    assert sandbox.calls()["bureau"] == 1
    expired = bureau.fetch(person, ON + dt.timedelta(days=30))
    assert (expired.cached, expired.cost, expired.fetched_on) == (
        False,
        Money("2.50"),
        ON + dt.timedelta(days=30),
    )
    assert sandbox.calls()["bureau"] == 2
    usage = meter.snapshot()["bureau"]
    assert (usage.calls, usage.cache_hits, usage.spend) == (2, 1, Money("5.00"))
    assert meter.total_spend() == Money("5.00")


def test_5xx_answers_are_retried_with_backoff(sandbox: CreditSandbox, sleeps) -> None:
    sandbox.fault("error_5xx", count=2, status=503, paths=["/bureau"])
    backoff = Backoff(base=0.05, cap=1.0)
    bureau = sources_for(sandbox, sleeps, retries=2, backoff=backoff)["bureau"]
    report = bureau.fetch(applicant(6), ON)
    assert report.payload["subject"]["name_match"] is True
    assert sandbox.calls()["bureau"] == 3
    assert len(sleeps) == 2
    assert all(0 <= wait <= backoff.ceiling(n) for n, wait in enumerate(sleeps))
    assert backoff.ceiling(1) == 2 * backoff.ceiling(0)


def test_retries_run_out_into_a_clear_unavailable_error(sandbox: CreditSandbox, sleeps) -> None:
    sandbox.fault("error_5xx", status=502, paths=["/telco"])
    telco = sources_for(sandbox, sleeps, retries=2)["telco"]
    with pytest.raises(DataSourceUnavailable) as caught:
        telco.fetch(applicant(7), ON)
    assert (caught.value.source, caught.value.reason) == ("telco", "server_error")
    assert "502" in caught.value.detail
    assert sandbox.calls()["telco"] == 3


def test_a_hanging_source_times_out_and_is_retried(sandbox: CreditSandbox, sleeps) -> None:
    sandbox.fault("timeout", hang_ms=2000, count=1, phase="before", paths=["/ecommerce"])
    ecommerce = sources_for(sandbox, sleeps, timeout=0.5, retries=1)["ecommerce"]
    report = ecommerce.fetch(applicant(8), ON)  # first attempt times out, the retry answers
    assert report.cost == Money("0.30") and len(sleeps) == 1
    sandbox.fault("timeout", hang_ms=2000, phase="before", paths=["/ecommerce"])
    with pytest.raises(DataSourceUnavailable) as caught:
        ecommerce.fetch(applicant(9), ON)
    assert caught.value.reason == "timeout"


def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial(
    sandbox: CreditSandbox, sleeps
) -> None:
    clock = FakeClock()
    bureau = sources_for(
        sandbox, sleeps, retries=0, failure_threshold=3, reset_after=30.0, clock=clock
    )["bureau"]
    sandbox.fault("down")
    for i in range(3):
        with pytest.raises(DataSourceUnavailable) as caught:
            bureau.fetch(applicant(10 + i), ON)
        assert caught.value.reason == "server_error"
    assert sandbox.calls()["bureau"] == 3
    with pytest.raises(DataSourceUnavailable) as caught:
        bureau.fetch(applicant(20), ON)
    assert caught.value.reason == "circuit_open"
    assert sandbox.calls()["bureau"] == 3  # refused without calling
    sandbox.admin("DELETE", "/admin/faults")
    clock.now += 31  # half-open: one trial goes through and closes the breaker
    assert bureau.fetch(applicant(21), ON).payload["subject"]["name_match"] is True
    assert bureau.http.breaker.state == "closed"
    assert bureau.meter.snapshot()["bureau"].failures == 4


def test_a_refused_request_is_not_retried(sandbox: CreditSandbox, sleeps) -> None:
    telco = sources_for(sandbox, sleeps)["telco"]
    with pytest.raises(DataSourceUnavailable) as caught:
        telco.fetch(applicant(30, phone="1"), ON)  # fails the sandbox's validation (422)
    assert caught.value.reason == "rejected" and "422" in caught.value.detail
    assert sleeps == [] and telco.meter.snapshot()["telco"].failures == 1


def engine_over(sandbox: CreditSandbox, sleeps: list[float], **options: Any) -> RiskDecisionEngine:
    return RiskDecisionEngine(
        scorer=RuleScorer(),
        sources=sources_for(sandbox, sleeps, retries=1, **options),
        fraud_store=InMemoryFraudSignalStore(),
        records=InMemoryDecisionRecordStore(),
    )


def test_engine_decides_over_http_and_replays_without_the_network(
    sandbox: CreditSandbox, sleeps
) -> None:
    engine = engine_over(sandbox, sleeps)
    people = [applicant(100 + i, product=("cash", "phone")[i % 2], region="310104",
                        declared={"requested_amount": "6000", "purchase_price": "4999", "term_months": 12})
              for i in range(12)]  # fmt: skip
    results = [engine.decide_with_record(p, ON) for p in people]
    assert {d.outcome for d, _ in results} >= {"approve"}
    stats_before = sandbox.calls()
    assert sum(stats_before.values()) == sum(len(r["sources_called"]) for _, r in results)
    for decision, record in results:
        paid = sum(
            Decimal(e["cost"]["amount"]) for e in record["inputs"]["sources"] if e["status"] == "ok"
        )
        assert Decimal(record["costs"]["total"]["amount"]) == paid
        assert engine.replay(record) == decision
    assert sandbox.calls() == stats_before


def test_engine_refers_when_the_bureau_is_down(sandbox: CreditSandbox, sleeps) -> None:
    engine = engine_over(sandbox, sleeps)
    sandbox.fault("down", paths=["/bureau"])
    decision, record = engine.decide_with_record(applicant(200, region="310104"), ON)
    assert decision.outcome == "refer"
    assert decision.reasons[0].code == "DATA_BUREAU_UNAVAILABLE"
    assert sandbox.calls()["bureau"] == 2  # one try and one retry
    assert record["inputs"]["sources"][-1] == {
        "source": "bureau", "status": "unavailable", "reason": "server_error",
        "detail": "HTTP 503",
    }  # fmt: skip
    assert engine.replay(record) == decision


def test_sandbox_overrides_drive_a_knockout(sandbox: CreditSandbox, sleeps) -> None:
    person = applicant(300, region="310104")
    sandbox.admin("POST", "/admin/overrides", json={
        "national_id": person.national_id, "source": "bureau",
        "patch": {"loans": {"current_overdue_fen": 88_000, "current_overdue_days": 12}},
    })  # fmt: skip
    decision = engine_over(sandbox, sleeps).decide(person, ON)
    assert (decision.outcome, decision.reasons[0].code) == ("decline", "KO_CURRENT_OVERDUE")
    oracle = sandbox.admin("GET", f"/admin/profiles/{person.national_id}")
    assert oracle["row"]["status"] in ("good", "bad")


@pytest.mark.slow
def test_default_model_end_to_end_and_cli_replay(
    sandbox: CreditSandbox, sleeps, tmp_path: Path
) -> None:
    """The trained default model behind the engine, decisions over HTTP, then
    ``mobilend decision replay`` on the stored records (trains the model if absent)."""
    from typer.testing import CliRunner

    from mobilend.cli.main import app
    from mobilend.risk.engine import load_default_scorer
    from mobilend.risk.model.defaults import default_model_dir, ensure_default_model
    from mobilend.risk.records import JsonFileDecisionRecordStore

    model_dir = ensure_default_model(default_model_dir(Path(__file__).resolve().parents[2]))
    store = JsonFileDecisionRecordStore(tmp_path / "decisions")
    engine = RiskDecisionEngine(
        scorer=load_default_scorer(str(model_dir)),
        sources=sources_for(sandbox, sleeps, retries=1),
        fraud_store=InMemoryFraudSignalStore(),
        records=store,
    )
    people = [applicant(600 + i, product=("cash", "phone", "sme")[i % 3], region="310104",
                        declared={"requested_amount": "6000", "purchase_price": "4999", "term_months": 12})
              for i in range(30)]  # fmt: skip
    decisions = [engine.decide(p, ON) for p in people]
    assert {d.outcome for d in decisions} >= {"approve", "decline"}
    runner = CliRunner()
    for decision in decisions[:6]:
        args = ["decision", "replay", decision.decision_id, "--records-dir", str(store.folder),
                "--model-dir", str(model_dir)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert decision.outcome in result.output and "identical" in result.output
    path = store.folder / f"{decisions[0].decision_id}.json"
    record = json.loads(path.read_text("utf-8"))
    record["result"]["outcome"] = (
        "approve" if record["result"]["outcome"] != "approve" else "decline"
    )
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(record), "utf-8")
    result = runner.invoke(
        app, ["decision", "replay", str(tampered), "--model-dir", str(model_dir)]
    )
    assert result.exit_code == 1 and "replay failed" in result.output
