"""The sandbox test identities get their documented decisions from the scoring engine
(credit data sandbox over HTTP, fraud and decision stores on PostgreSQL, a PD model
trained from the shipped data), the sandboxes list them, and the README agrees."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from stdnum import luhn
from tests.integration.risk_fixtures import new_vault, small_model_dir
from tests.integration.sandbox_fixtures import ServerThread

from mobilend.app.onboarding.pii import check_identity, normalise_cn_mobile
from mobilend.bootstrap.risk import build_risk_engine
from mobilend.bootstrap.sandboxes import seed_sandbox_blacklist
from mobilend.config import Settings
from mobilend.domain.borrowers import KycPolicy
from mobilend.domain.decisions import Applicant, DecisionOutcome
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.sandbox import credit_data, messaging_gateway
from mobilend.sandbox.test_identities import BY_KEY, IDENTITIES, SandboxIdentity

pytestmark = pytest.mark.db

README = Path(__file__).resolve().parents[2] / "README.md"
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def credit_sandbox() -> Iterator[str]:
    server = ServerThread(credit_data.create_app()).start()
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def engine(db: sa.Engine, credit_sandbox: str, tmp_path: Path) -> RiskDecisionEngine:
    httpx.post(f"{credit_sandbox}/admin/reset", json={}, timeout=10).raise_for_status()
    vault = new_vault()
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        var_dir=tmp_path,
        model_dir=small_model_dir(),
    )
    assert seed_sandbox_blacklist(db, vault) == [BY_KEY["fraud"].national_id]
    seed_sandbox_blacklist(db, vault)  # idempotent
    return build_risk_engine(settings, db=db, vault=vault, credit_data_url=credit_sandbox)


def _applicant(identity: SandboxIdentity, n: int, income: Money | None) -> Applicant:
    return Applicant(
        application_id=f"APP-{identity.key}-{n}",
        borrower_id=f"B-{identity.key}",
        product_code="cash",
        full_name=identity.name,
        national_id=identity.national_id,
        phone="+86" + identity.phone,
        bank_card=identity.bank_card,
        device_id=f"dev-{identity.key}",
        ip_address="127.0.0.1",
        monthly_income=income,
    )


def test_each_identity_gets_its_documented_outcome(engine: RiskDecisionEngine) -> None:
    for n, identity in enumerate(IDENTITIES):
        decision = engine.decide(_applicant(identity, n, None), TODAY)
        assert decision.outcome == identity.outcome, (identity.key, decision)
        if identity.outcome == "approve":
            assert decision.limit is not None and decision.limit.is_positive()
            assert decision.annual_rate is not None
        else:
            assert decision.reasons[0].code == identity.reason_code, decision.reasons
    fraud = engine.decide(_applicant(BY_KEY["fraud"], 99, None), TODAY)
    sources = [s["source"] for s in engine.records.get(fraud.decision_id)["inputs"]["sources"]]  # type: ignore[union-attr]
    assert sources == []  # the blacklist stops it before any paid data is bought


def test_outcomes_hold_with_a_declared_income_except_the_documented_refer(
    engine: RiskDecisionEngine,
) -> None:
    income = Money("8000")
    outcomes = {i.key: engine.decide(_applicant(i, 7, income), TODAY).outcome for i in IDENTITIES}
    assert outcomes == {
        "approve": DecisionOutcome.APPROVE,
        "decline": DecisionOutcome.DECLINE,
        # The refer case needs "monthly income" left empty, as documented.
        "refer": DecisionOutcome.APPROVE,
        "fraud": DecisionOutcome.DECLINE,
        "outage": DecisionOutcome.REFER,
    }
    assert BY_KEY["refer"].note_en == "leave “monthly income” empty"


def test_a_wrong_name_for_a_test_id_is_a_name_mismatch(engine: RiskDecisionEngine) -> None:
    approve = BY_KEY["approve"]
    other = replace(_applicant(approve, 3, None), full_name="张三")
    decision = engine.decide(other, TODAY)
    assert decision.outcome == "decline"
    assert decision.reasons[0].code == "KO_ID_NAME_MISMATCH"


def test_the_identities_pass_identity_verification() -> None:
    for identity in IDENTITIES:
        checked = check_identity(
            identity.name, identity.national_id, identity.bank_card, today=TODAY, policy=KycPolicy()
        )
        assert 22 <= (TODAY - checked.birth_date).days // 365 <= 55  # inside every age rule
        assert luhn.is_valid(identity.bank_card)
        assert normalise_cn_mobile(identity.phone) == "+86" + identity.phone
    assert len({i.phone for i in IDENTITIES}) == len({i.bank_card for i in IDENTITIES}) == 5


def test_the_sandboxes_show_the_identities(credit_sandbox: str) -> None:
    listed = httpx.get(f"{credit_sandbox}/test-identities", timeout=10).json()["identities"]
    assert [i["national_id"] for i in listed] == [i.national_id for i in IDENTITIES]
    page = httpx.get(f"{credit_sandbox}/", timeout=10)
    assert page.headers["content-type"].startswith("text/html")
    for identity in IDENTITIES:
        assert identity.national_id in page.text and identity.result_zh in page.text

    sms = ServerThread(messaging_gateway.create_app("secret", receipt_delay_ms=0)).start()
    try:
        phone = BY_KEY["approve"].phone
        body = {"message_id": "otp-1", "recipient": "+86" + phone, "body": "您的验证码是123456"}
        httpx.post(f"{sms.base_url}/sms", json=body, timeout=10).raise_for_status()
        index = httpx.get(f"{sms.base_url}/", timeout=10).text
        row = next(r for r in index.split("<tr>") if phone in r)
        assert "123456" in row and BY_KEY["approve"].national_id in row
        assert all(i.phone in index for i in IDENTITIES)
    finally:
        sms.stop()


def test_the_readme_documents_every_identity() -> None:
    text = README.read_text("utf-8")
    for identity in IDENTITIES:
        row = next(
            (
                line
                for line in text.splitlines()
                if line.startswith("|") and identity.national_id in line
            ),
            None,
        )
        assert row is not None, identity.key
        for value in (identity.phone, identity.name, identity.bank_card, identity.outcome):
            assert value in row, (identity.key, value)
        if identity.reason_code:
            assert identity.reason_code in row, identity.key
    assert re.search(r"Test identities", text)
