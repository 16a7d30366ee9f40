"""Decision reasons as the borrower reads them: every code the engines can give has
words that name the information's source, and no reason talks about a purchase the
borrower never made."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mobilend.adapters.decisions.basic_policy import REASONS as BASIC_REASONS
from mobilend.domain.decisions import DecisionReason
from mobilend.risk.borrower_reasons import borrower_reason, borrower_reasons, known_codes
from mobilend.risk.feature_builder import FEATURE_COLUMNS
from mobilend.risk.model.reasons import reason_code_for

POLICY_REASONS = (
    Path(__file__).resolve().parents[3]
    / "src"
    / "mobilend"
    / "risk"
    / "policy"
    / "files"
    / "reasons.json"
)
CJK = re.compile(r"[\u3400-\u9fff]")


def _engine_codes() -> set[str]:
    policy = set(json.loads(POLICY_REASONS.read_text("utf-8"))["codes"])
    model = {reason_code_for(name) for name in FEATURE_COLUMNS}
    return policy | model | set(BASIC_REASONS)


def test_every_engine_code_has_borrower_words() -> None:
    assert sorted(_engine_codes() - known_codes()) == []


def test_each_reason_names_its_source_in_both_languages() -> None:
    for code in sorted(known_codes()):
        shown = borrower_reason(DecisionReason(code, "引擎文本", "engine text"))
        assert re.search(r"（来源：[^）]+）$", shown.text_zh), shown
        assert re.search(r" \(source: [^)]+\)$", shown.text_en), shown
        assert CJK.search(shown.text_en) is None, shown
        assert shown.text_en[0].isupper(), shown


def test_the_overdue_decline_says_it_comes_from_the_credit_report() -> None:
    (shown,) = borrower_reasons([DecisionReason("KO_CURRENT_OVERDUE", "x", "x")])
    assert shown.text_zh == "当前有逾期未还的借款（来源：征信报告）"
    assert shown.text_en == "A loan payment is overdue now (source: your credit report)"


def test_a_cash_loan_never_mentions_a_purchase_price() -> None:
    engine = [
        DecisionReason("SCORE_BELOW_CUTOFF", "", ""),
        DecisionReason("R_PRICE", "所购商品价格偏高", "Price of financed goods high"),
        DecisionReason("R_AMOUNT", "申请金额偏高", "Requested amount high"),
        DecisionReason("R_SENIORITY", "现职工作年限较短", "Short time with current employer"),
    ]
    shown = borrower_reasons(engine)
    assert [r.code for r in shown] == ["SCORE_BELOW_CUTOFF", "R_AMOUNT", "R_SENIORITY"]
    for reason in shown:
        assert "商品" not in reason.text_zh and "价格" not in reason.text_zh
        assert not re.search(r"price|purchase|buying", reason.text_en, re.I)
    assert shown[2].text_zh == "在现单位工作时间较短（来源：征信报告）"


def test_a_declared_purchase_price_keeps_its_factor() -> None:
    shown = borrower_reasons([DecisionReason("R_PRICE", "", "")], purchase_price_declared=True)
    assert shown[0].code == "R_PRICE" and "商品价格" in shown[0].text_zh


def test_texts_without_catalogue_words_keep_the_engines_and_gain_a_source() -> None:
    (age,) = borrower_reasons(
        [DecisionReason("AGE_OUTSIDE_POLICY", *BASIC_REASONS["AGE_OUTSIDE_POLICY"])]
    )
    assert age.text_zh == "年龄不在20至55周岁之间（来源：您的身份证号）"
    assert age.text_en == "Age is outside 20-55 (source: your resident ID)"
    unknown = DecisionReason("SOMETHING_NEW", "新原因", "new reason")
    assert borrower_reasons([unknown]) == (unknown,)
