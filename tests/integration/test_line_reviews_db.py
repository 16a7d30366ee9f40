"""Periodic line reviews on real PostgreSQL: lower, freeze, propose (never apply) an
increase, keep, defer on missing data; idempotent per business date; the borrower's
consent applies a proposal; the real engine lowers limits when the market overlay
stresses; ``mobilend lines review --date D`` runs the whole thing."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mobilend.adapters.db.risk_repository import SqlDecisionRecordStore, SqlFraudSignalStore
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from mobilend.adapters.ids import SortableIds
from mobilend.adapters.vault import FieldVault
from mobilend.app.onboarding.pii import unseal
from mobilend.app.reviews.line_reviews import (
    REVIEW_FREEZE_REASON,
    LineReviews,
    ProposalUnavailable,
    review_application_id,
)
from mobilend.domain.borrowers import Borrower, ConsentPurpose
from mobilend.domain.compliance import BorrowerCapExceeded, CostCapPolicy, Rule, Setting
from mobilend.domain.decisions import Applicant, CreditDecision, DecisionOutcome, DecisionReason
from mobilend.domain.errors import NotFound
from mobilend.domain.lines import CreditLine, LineStatus
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.scoring import MarketCondition, MarketOverlay
from mobilend.sandbox.credit_data import create_app

sys.path.append(str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1] / "unit" / "risk"))
from risk_fixtures import (
    DATA_FILE,
    national_id,
    new_vault,
    open_line,
    seed_borrower,
    small_model_dir,
)
from risk_helpers import ConstantScorer, clean_sources
from sandbox_fixtures import ServerThread

pytestmark = pytest.mark.db

OPENED = dt.date(2026, 9, 1)
REVIEW = dt.date(2026, 11, 2)
AT = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


class FixedClock:
    def now(self) -> dt.datetime:
        return AT


class ScriptedDecisions:
    """A decision engine whose answer per borrower the test sets."""

    def __init__(self) -> None:
        self.answers: dict[str, CreditDecision | Exception] = {}
        self.asked: list[Applicant] = []

    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        self.asked.append(applicant)
        answer = self.answers[applicant.borrower_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def decision(outcome: str, limit: str | None, *codes: str) -> CreditDecision:
    return CreditDecision(
        decision_id=f"DEC-{outcome}-{limit}",
        outcome=DecisionOutcome(outcome),
        limit=Money(limit) if limit is not None else None,
        annual_rate=Decimal("0.18") if limit is not None else None,
        expires_on=None,
        reasons=tuple(DecisionReason(c, f"中文{c}", f"text {c}") for c in codes),
    )


@pytest.fixture
def vault() -> FieldVault:
    return new_vault()


def borrowers_from(db: sa.Engine, vault: FieldVault):  # type: ignore[no-untyped-def]
    def load(borrower_id: str) -> Borrower:
        with SqlUnitOfWork(db) as uow:
            sealed = uow.onboarding.borrowers.get(borrower_id)
        if sealed is None:
            raise NotFound(borrower_id)
        return unseal(sealed, vault)

    return load


def reviews_over(
    db: sa.Engine, vault: FieldVault, engine: object, **options: object
) -> LineReviews:
    return LineReviews(
        uow=SqlUnitOfWorkFactory(db),
        decisions=engine,  # type: ignore[arg-type]
        borrowers=borrowers_from(db, vault),
        new_id=SortableIds(),
        clock=FixedClock(),
        **options,  # type: ignore[arg-type]
    )


def line(db: sa.Engine, line_id: str) -> CreditLine:
    with SqlUnitOfWorkFactory(db)() as uow:
        return uow.lending.lines.get(line_id)


def draw(db: sa.Engine, line_id: str, amount: str) -> None:
    with SqlUnitOfWorkFactory(db)() as uow:
        current = uow.lending.lines.get(line_id, for_update=True)
        current.draw(Money(amount), OPENED)
        uow.lending.lines.save(current)
        uow.commit()


def review_rows(db: sa.Engine) -> dict[str, sa.Row]:
    with db.connect() as conn:
        return {r.line_id: r for r in conn.execute(sa.text("SELECT * FROM line_reviews"))}


# --------------------------------------------------------------------------- the use case


def test_a_review_lowers_freezes_proposes_keeps_and_defers(
    db: sa.Engine, vault: FieldVault
) -> None:
    engine = ScriptedDecisions()
    script = {
        1: decision("approve", "6000", "LIMIT_BY_SCORE_BAND"),  # lower 10000 → 6000
        2: decision("decline", None, "KO_CURRENT_OVERDUE", "FRAUD_PHONE_SHARED"),  # freeze
        3: decision("approve", "20000"),  # higher: proposal only
        4: decision("approve", "10050"),  # within 100 of the limit: keep
        5: decision("refer", None, "DATA_BUREAU_UNAVAILABLE"),  # no data: nothing happens
        6: decision("approve", "3000"),  # lower, but 8000 is drawn: floors at 8000
        7: RuntimeError("engine bug"),  # one failure does not stop the run
    }
    for seq, answer in script.items():
        seed_borrower(db, vault, seq)
        open_line(db, f"B-{seq:05d}", limit="10000", opened_on=OPENED, income_fen=800_000)
        engine.answers[f"B-{seq:05d}"] = answer
    draw(db, "L-B-00006", "8000")
    summary = reviews_over(db, vault, engine).run(REVIEW)
    assert (summary.reviewed, summary.lowered, summary.frozen, summary.proposed, summary.kept) == (
        5, 2, 1, 1, 1,
    )  # fmt: skip
    assert (summary.deferred, summary.failed) == (1, 1)

    assert line(db, "L-B-00001").limit == Money("6000")
    frozen = line(db, "L-B-00002")
    assert frozen.status is LineStatus.FROZEN and frozen.limit == Money("10000")
    assert frozen.freeze_reason == f"{REVIEW_FREEZE_REASON}:KO_CURRENT_OVERDUE,FRAUD_PHONE_SHARED"
    assert line(db, "L-B-00003").limit == Money("10000")  # not applied without consent
    assert line(db, "L-B-00004").limit == Money("10000")
    assert line(db, "L-B-00005").limit == Money("10000")
    assert (
        line(db, "L-B-00006").limit == Money("8000") and line(db, "L-B-00006").available.is_zero()
    )

    rows = review_rows(db)
    assert set(rows) == {f"L-B-0000{n}" for n in (1, 2, 3, 4, 6)}
    assert (rows["L-B-00003"].action, rows["L-B-00003"].proposed_limit_minor) == (
        "propose_increase", 2_000_000,
    )  # fmt: skip
    assert rows["L-B-00003"].proposal_status == "pending"
    assert rows["L-B-00003"].proposal_expires_on == REVIEW + dt.timedelta(days=30)
    assert [r["code"] for r in rows["L-B-00002"].reasons] == ["KO_CURRENT_OVERDUE",
                                                              "FRAUD_PHONE_SHARED"]  # fmt: skip
    asked = {a.borrower_id: a for a in engine.asked}
    first = asked["B-00001"]
    assert first.application_id == review_application_id("L-B-00001")
    assert (first.national_id, first.phone, first.monthly_income) == (
        national_id(1), "+8613900000001", Money("8000"),
    )  # fmt: skip
    # Nothing owed or drawable elsewhere: the line under review is left out.
    assert first.declared == {"requested_amount": "10000.00", "existing_credit_limits": "0"}


def test_running_a_date_twice_changes_nothing_and_lines_come_due_again(
    db: sa.Engine, vault: FieldVault
) -> None:
    engine = ScriptedDecisions()
    seed_borrower(db, vault, 11)
    open_line(db, "B-00011", limit="10000", opened_on=OPENED)
    seed_borrower(db, vault, 12)
    open_line(db, "B-00012", limit="10000", opened_on=REVIEW - dt.timedelta(days=10))
    engine.answers["B-00011"] = decision("approve", "9000")
    reviews = reviews_over(db, vault, engine)
    assert reviews.run(REVIEW).lowered == 1  # the line opened 10 days ago is not due
    again = reviews.run(REVIEW)
    assert (again.reviewed, again.deferred, again.failed) == (0, 0, 0)
    assert reviews.run(REVIEW + dt.timedelta(days=29)).reviewed == 0
    engine.answers["B-00011"] = decision("approve", "8000")
    engine.answers["B-00012"] = decision("approve", "10000")
    later = reviews.run(REVIEW + dt.timedelta(days=30))
    assert (later.lowered, later.kept) == (1, 1)
    assert line(db, "L-B-00011").limit == Money("8000")
    with SqlUnitOfWorkFactory(db)() as uow:
        history = uow.reviews.line_reviews.for_line("L-B-00011")
    assert [(r.reviewed_on, r.previous_limit, r.new_limit) for r in history] == [
        (REVIEW + dt.timedelta(days=30), Money("9000"), Money("8000")),
        (REVIEW, Money("10000"), Money("9000")),
    ]


def test_a_deferred_line_is_tried_again_on_the_next_run(db: sa.Engine, vault: FieldVault) -> None:
    engine = ScriptedDecisions()
    seed_borrower(db, vault, 21)
    open_line(db, "B-00021", limit="10000", opened_on=OPENED)
    engine.answers["B-00021"] = decision("refer", None, "DATA_BUREAU_UNAVAILABLE")
    reviews = reviews_over(db, vault, engine)
    assert reviews.run(REVIEW).deferred == 1
    engine.answers["B-00021"] = decision("decline", None, "KO_CURRENT_OVERDUE")
    assert reviews.run(REVIEW + dt.timedelta(days=1)).frozen == 1
    assert line(db, "L-B-00021").status is LineStatus.FROZEN


def test_partitions_split_the_lines_between_workers(db: sa.Engine, vault: FieldVault) -> None:
    engine = ScriptedDecisions()
    for seq in range(31, 39):
        seed_borrower(db, vault, seq)
        open_line(db, f"B-{seq:05d}", limit="10000", opened_on=OPENED)
        engine.answers[f"B-{seq:05d}"] = decision("approve", "10000")
    reviews = reviews_over(db, vault, engine)
    counts = [reviews.run(REVIEW, partition=p, partitions=3).reviewed for p in range(3)]
    assert sum(counts) == 8 and len(review_rows(db)) == 8
    assert reviews.run(REVIEW).reviewed == 0


def test_an_accepted_increase_must_fit_the_per_borrower_cap(
    db: sa.Engine, vault: FieldVault
) -> None:
    """The line being raised is left out; the person's other line counts in full."""
    engine = ScriptedDecisions()
    seed_borrower(db, vault, 51)
    open_line(db, "B-00051", limit="10000", opened_on=OPENED)
    open_line(db, "B-00051", limit="10000", opened_on=OPENED, line_id="L-B-00051-2")
    engine.answers["B-00051"] = decision("approve", "20000")
    rules = CostCapPolicy(settings=[Setting(Rule.BORROWER_CAP, Money("25000"))])
    reviews = reviews_over(db, vault, engine, rules=rules)
    reviews.run(REVIEW)
    offer = {p.line_id: p for p in reviews.proposals("B-00051", REVIEW)}
    with pytest.raises(BorrowerCapExceeded) as refused:  # 10 000 + 20 000 > 25 000
        reviews.accept_proposal("B-00051", offer["L-B-00051"].review_id, REVIEW)
    assert refused.value.figure == "30000.00"
    assert line(db, "L-B-00051").limit == Money("10000")
    roomy = reviews_over(db, vault, engine, rules=CostCapPolicy())
    assert roomy.accept_proposal("B-00051", offer["L-B-00051"].review_id, REVIEW).limit == Money(
        "20000"
    )


def test_a_borrower_who_withdrew_the_credit_consent_is_not_re_decided(
    db: sa.Engine, vault: FieldVault
) -> None:
    engine = ScriptedDecisions()
    seed_borrower(db, vault, 52)
    open_line(db, "B-00052", limit="10000", opened_on=OPENED)
    engine.answers["B-00052"] = decision("decline", None, "KO_CURRENT_OVERDUE")
    with SqlUnitOfWork(db) as uow:
        consent = next(
            c
            for c in uow.onboarding.borrowers.consents("B-00052")
            if c.purpose is ConsentPurpose.CREDIT_REPORT_QUERY
        )
        consent.withdraw(AT)
        uow.onboarding.borrowers.save_consent(consent)
        uow.commit()
    summary = reviews_over(db, vault, engine).run(REVIEW)
    assert (summary.reviewed, summary.deferred) == (0, 1)
    assert engine.asked == []  # the bureau is not queried for them
    assert line(db, "L-B-00052").status is LineStatus.ACTIVE


def test_the_borrower_accepts_or_declines_a_proposed_increase(
    db: sa.Engine, vault: FieldVault
) -> None:
    engine = ScriptedDecisions()
    for seq in (41, 42, 43):
        seed_borrower(db, vault, seq)
        open_line(db, f"B-{seq:05d}", limit="10000", opened_on=OPENED)
        engine.answers[f"B-{seq:05d}"] = decision("approve", "15000")
    reviews = reviews_over(db, vault, engine)
    reviews.run(REVIEW)
    offer = reviews.proposals("B-00041", REVIEW)
    assert [(p.line_id, p.proposed_limit) for p in offer] == [("L-B-00041", Money("15000"))]
    with pytest.raises(NotFound):  # another borrower's proposal
        reviews.accept_proposal("B-00042", offer[0].review_id, REVIEW)
    raised = reviews.accept_proposal("B-00041", offer[0].review_id, REVIEW + dt.timedelta(days=3))
    assert raised.limit == Money("15000") == line(db, "L-B-00041").limit
    assert reviews.proposals("B-00041", REVIEW) == []
    with pytest.raises(ProposalUnavailable):
        reviews.accept_proposal("B-00041", offer[0].review_id, REVIEW)

    second = reviews.proposals("B-00042", REVIEW)[0]
    declined = reviews.decline_proposal("B-00042", second.review_id, REVIEW)
    assert (declined.proposal_status, declined.responded_at) == ("declined", AT)
    assert line(db, "L-B-00042").limit == Money("10000")

    third = reviews.proposals("B-00043", REVIEW)[0]
    late = REVIEW + dt.timedelta(days=31)
    assert reviews.proposals("B-00043", late) == []
    with pytest.raises(ProposalUnavailable):
        reviews.accept_proposal("B-00043", third.review_id, late)
    # The next review supersedes a proposal still pending.
    engine.answers["B-00043"] = decision("approve", "9000")
    reviews.run(REVIEW + dt.timedelta(days=30))
    with SqlUnitOfWorkFactory(db)() as uow:
        assert uow.reviews.line_reviews.get(third.review_id).proposal_status == "expired"
    assert line(db, "L-B-00043").limit == Money("9000")


# --------------------------------------------------------------------------- the real engine


def test_market_stress_lowers_limits_through_the_scoring_engine(
    db: sa.Engine, vault: FieldVault
) -> None:
    stress = MarketCondition(
        "stress-2026-10", dt.date(2026, 10, 1), Decimal("2"), 10, Decimal("0.5"), "压力", "stress"
    )
    fraud = SqlFraudSignalStore(db, vault)
    records = SqlDecisionRecordStore(db, vault)
    engine = RiskDecisionEngine(
        scorer=ConstantScorer(0.02),
        sources=clean_sources(),
        fraud_store=fraud.read_only(),
        records=records,
        overlay=MarketOverlay([MarketCondition("base", dt.date(2020, 1, 1)), stress]),
    )
    borrower = seed_borrower(db, vault, 51)
    before = engine.decide(
        Applicant("APP-51", "B-00051", "cash", "测试51", borrower.kyc.national_id,  # type: ignore[union-attr]
                  borrower.phone, monthly_income=Money("8000")),
        OPENED,
    )  # fmt: skip
    assert before.outcome == "approve" and before.limit is not None
    open_line(db, "B-00051", limit=str(before.limit.amount), opened_on=OPENED, income_fen=800_000)
    summary = reviews_over(db, vault, engine).run(REVIEW)
    assert summary.lowered == 1
    review = review_rows(db)["L-B-00051"]
    after = line(db, "L-B-00051").limit
    assert after < before.limit and Money.from_minor(review.new_limit_minor) == after
    stored = records.get(review.decision_id)
    assert (stored["market"]["id"], stored["applicant"]["application_id"]) == (
        "stress-2026-10", review_application_id("L-B-00051"),
    )  # fmt: skip
    assert "MARKET_STRESS" in [r["code"] for r in review.reasons]
    assert engine.replay(stored).limit == after
    assert fraud.sightings("national_id", borrower.kyc.national_id, OPENED, REVIEW) == []  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def credit_server() -> Iterator[str]:
    thread = ServerThread(create_app(DATA_FILE)).start()
    yield thread.base_url
    thread.stop()


def test_a_line_deferred_for_a_bureau_outage_is_reviewed_later_the_same_day(
    db: sa.Engine, credit_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.bootstrap.infra import load_vault
    from mobilend.bootstrap.risk import build_line_reviews
    from mobilend.config import get_settings

    admin = f"{credit_server}/admin"
    httpx.post(f"{admin}/reset", json={"seed": 5}, timeout=10).raise_for_status()
    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        seed_borrower(db, load_vault(settings), 71)
        open_line(db, "B-00071", limit="5000", opened_on=OPENED)
        reviews = build_line_reviews(settings, db=db, credit_data_url=credit_server)
        fault = {"mode": "down", "paths": ["/bureau"]}
        httpx.post(f"{admin}/faults", json=fault, timeout=10).raise_for_status()
        down = reviews.run(REVIEW)
        assert (down.deferred, down.reviewed, down.failed) == (1, 0, 0)
        assert line(db, "L-B-00071").status is LineStatus.ACTIVE and review_rows(db) == {}
        httpx.post(f"{admin}/reset", json={"seed": 5}, timeout=10).raise_for_status()
        back = reviews.run(REVIEW)
        assert (back.deferred, back.reviewed, back.failed) == (0, 1, 0)
        with db.connect() as conn:
            outcomes = (
                conn.execute(sa.text("SELECT outcome FROM decisions ORDER BY created_at, id"))
                .scalars()
                .all()
            )
        assert outcomes[0] == "refer" and len(outcomes) == 2  # both attempts on record
    finally:
        get_settings.cache_clear()


def test_lines_review_command_reviews_due_lines_once(
    db: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no credit data URL configured, the command runs the sandbox in-process."""
    from mobilend.bootstrap.infra import load_vault
    from mobilend.cli.main import app
    from mobilend.config import get_settings

    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    monkeypatch.delenv("MOBILEND_CREDIT_DATA_URL", raising=False)
    get_settings.cache_clear()
    try:
        vault = load_vault(get_settings())
        for seq in range(61, 65):
            seed_borrower(db, vault, seq)
            open_line(db, f"B-{seq:05d}", limit="5000", opened_on=OPENED)
        runner = CliRunner()
        first = runner.invoke(app, ["lines", "review", "--date", REVIEW.isoformat()])
        assert first.exit_code == 0, first.output
        rows = review_rows(db)
        assert set(rows) == {f"L-B-{seq:05d}" for seq in range(61, 65)}
        assert f"reviewed {len(rows)}" in first.output
        with db.connect() as conn:
            kinds = (
                conn.execute(sa.text("SELECT application_id FROM decisions ORDER BY 1"))
                .scalars()
                .all()
            )
            sightings = conn.execute(sa.text("SELECT count(*) FROM fraud_sightings")).scalar()
        assert kinds == sorted(review_application_id(r) for r in rows) and sightings == 0
        again = runner.invoke(app, ["lines", "review", "--date", REVIEW.isoformat()])
        assert again.exit_code == 0 and "reviewed 0" in again.output
        pending = [r for r in rows.values() if r.proposal_status == "pending"]
        listing = runner.invoke(app, ["lines", "proposals", "B-00061"])
        assert listing.exit_code == 0
        assert ("L-B-00061" in listing.output) == any(r.line_id == "L-B-00061" for r in pending)
    finally:
        get_settings.cache_clear()
