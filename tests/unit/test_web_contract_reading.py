"""The contract page shows the signed, bilingual contract text in the page's language:
each line of the text ``render_contract`` writes goes to one language (or both, for
numbers), the words as signed, and nothing of a clause is dropped."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from mobilend.app.journey.context import JourneySettings
from mobilend.app.journey.contract_text import key_terms, render_contract
from mobilend.app.journey.ports import InstallmentTerms, OfferTerms
from mobilend.web.contract_reading import contract_in, split_contract

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
#: Latin a Chinese line may hold: abbreviations the law and the contract use, the brand.
ALLOWED = {"APR", "IRR", "IP", "CNY", "mobilend"}


def terms(*, fees_fen: int = 0) -> OfferTerms:
    schedule = tuple(
        InstallmentTerms(
            n,
            dt.date(2026, 3 + n, 2),
            50_000,
            3_000,
            fees_fen,
            53_000 + fees_fen,
            300_000 - 50_000 * n,
        )
        for n in range(1, 7)
    )
    return OfferTerms(
        "L-1",
        "cash",
        "随借随还现金贷 / Consumer cash loan",
        "CNY",
        300_000,
        300_000,
        6,
        "equal-installment",
        dt.date(2026, 3, 2),
        dt.date(2026, 9, 2),
        Decimal("0.18"),
        Decimal("0.1956"),
        18_000,
        fees_fen * 6,
        0,
        18_000 + fees_fen * 6,
        318_000 + fees_fen * 6,
        Decimal("0.27"),
        3,
        schedule,
    )


def body(offer: OfferTerms) -> str:
    return render_contract(
        contract_id="3f2a9c1e-0b7d-4e5f-8a6b-1c2d3e4f5a6b",
        borrower_id="b-7e5d",
        borrower_name="张*",
        national_id="110***********011X",
        bank_card="***************0015",
        terms=offer,
        settings=JourneySettings(),
    )


def identifiers_removed(line: str) -> str:
    """Ids (contract, customer, template) hold Latin letters in any language."""
    return " ".join(w for w in line.split() if not re.search(r"[\d\-*]", w))


def test_the_chinese_reading_has_no_english_and_the_english_no_chinese() -> None:
    for offer in (terms(), terms(fees_fen=500)):
        split = split_contract(body(offer))
        assert split is not None
        zh, en = split
        for line, _key in zh:
            words = set(re.findall(r"[A-Za-z]{2,}", identifiers_removed(line))) - ALLOWED
            assert not words, line
        for line, _key in en:
            assert set(CJK.findall(line)) <= {"张"}, line  # the borrower's own name


def test_every_key_term_is_there_in_each_language_as_signed() -> None:
    offer = terms(fees_fen=500)
    zh = contract_in(body(offer), "zh")
    en = contract_in(body(offer), "en")
    assert zh is not None and en is not None
    zh_keys = [line for line, key in zh if key]
    en_keys = [line for line, key in en if key]
    expected = key_terms(offer)
    assert len(zh_keys) == len(en_keys) == len(expected)
    for term, zh_line, en_line in zip(expected, zh_keys, en_keys, strict=True):
        assert zh_line == f"★ {term.label_zh}：{term.value_zh}"
        assert en_line == f"★ {term.label_en}: {term.value_en}"


def test_each_clause_of_the_signed_text_reaches_both_readings() -> None:
    text = body(terms())
    zh = "\n".join(line for line, _ in contract_in(text, "zh") or [])
    en = "\n".join(line for line, _ in contract_in(text, "en") or [])
    for n, (zh_heading, en_heading) in enumerate(
        [
            ("借款", "The loan"),
            ("还款计划", "Repayment schedule"),
            ("提前还款", "Early repayment"),
            ("逾期", "Late payment"),
            ("个人信息", "Personal information"),
            ("签署", "Signing"),
        ],
        start=1,
    ):
        assert f"条 {zh_heading}" in zh and f"Article {n} {en_heading}" in en
    assert "不收取提前还款违约金" in zh and "no early-repayment penalty" in en
    assert zh.count("2026-04-02 | 500.00") == en.count("2026-04-02 | 500.00") == 1
    assert "mobilend 示范小额贷款有限公司" in zh and "mobilend Demonstration" in en
    assert "110***********011X" in zh and "110***********011X" in en


def test_a_layout_it_does_not_know_gives_the_signed_text_whole() -> None:
    # A new template's mixed line: better the whole signed text than a reading missing it.
    changed = (
        body(terms())
        + "第七条 争议 Article 7 Disputes 由贷款人所在地法院管辖 courts of the lender\n"
    )
    assert split_contract(changed) is None
    assert contract_in(changed, "zh") is None
