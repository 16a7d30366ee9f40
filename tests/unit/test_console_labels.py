"""Stored codes (statuses, repayment methods) and fractions are shown on console pages
as words and percentages in the page language, never as the raw code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from mobilend.app.analytics.reports import Report, Table
from mobilend.app.journey.ports import ContractStatus
from mobilend.console.i18n import Translator
from mobilend.console.kit import ConsoleKit
from mobilend.domain.borrowers import BorrowerStatus
from mobilend.domain.lines import LineStatus
from mobilend.domain.loans_installments import InstallmentStatus
from mobilend.domain.money import Money
from mobilend.domain.terms import RepaymentMethod

CODES: list[tuple[str, str]] = [
    *(("borrower.status", s.value) for s in BorrowerStatus),
    *(("line.status", s.value) for s in LineStatus),
    *(("contract.status", s) for s in (ContractStatus.DRAFT, ContractStatus.SIGNED)),
    *(("installment.status", s.value) for s in InstallmentStatus),
    *(("method", m.value) for m in RepaymentMethod),
]


@pytest.mark.parametrize(("prefix", "code"), CODES)
def test_every_stored_code_has_a_label_in_both_languages(prefix: str, code: str) -> None:
    zh, en = Translator("zh").label(prefix, code), Translator("en").label(prefix, code)
    assert code not in zh and zh != en
    assert en and "_" not in en


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert Translator("zh").label("line.status", "mystery") == "mystery"
    assert Translator("zh").label("line.status", None) == "—"


def _env() -> Any:
    return ConsoleKit(desk=None).templates.env  # type: ignore[arg-type]


def _page(template: str, lang: str, **context: Any) -> str:
    base = {
        "t": Translator(lang), "lang": lang, "csrf_token": "x", "path": "/console/",
        "staff": None, "can": lambda _: False, "nav": [], "chart_labels": {}, "errors": {},
        "form": {},
    }  # fmt: skip
    return str(_env().get_template(template).render(**base, **context))


def test_a_borrower_file_in_chinese_shows_no_raw_status() -> None:
    now = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    file = SimpleNamespace(
        borrower=SimpleNamespace(
            borrower_id="B-1", status=BorrowerStatus.KYC_PASSED, created_at=now,
            kyc_verified_at=now, masked={}, can_reveal=False,
        ),
        lines=[SimpleNamespace(line_id="L-1", product_code="cash", limit=Money("8000"),
                               used=Money("0"), status="active", expires_on=now.date())],
        loans=[], applications=[],
        contracts=[SimpleNamespace(contract_id="C-1", status="signed", signed_at=now,
                                   loan_id=None)],
    )  # fmt: skip
    zh = _page("borrower.html", "zh", file=file, fields=[])
    for raw in ("kyc_passed", ">active<", ">signed<"):
        assert raw not in zh
    assert "已实名" in zh and "有效" in zh and "已签署" in zh
    en = _page("borrower.html", "en", file=file, fields=[])
    assert "KYC passed" in en and ">signed<" in en


def test_products_show_the_repayment_method_in_words() -> None:
    products = [
        SimpleNamespace(code=f"p{i}", name="现金贷 / Cash", min_amount=Money("500"),
                        max_amount=Money("5000"), min_periods=3, max_periods=12,
                        annual_rate=Decimal("0.18"), method=method)
        for i, method in enumerate(RepaymentMethod)
    ]  # fmt: skip
    zh = _page("products.html", "zh", products=products)
    for method in RepaymentMethod:
        assert f">{method.value}<" not in zh
    assert "等额本息" in zh and "等额本金" in zh and "先息后本" in zh
    assert "equal installments" in _page("products.html", "en", products=products)


def test_a_share_column_reads_as_a_percentage() -> None:
    report = Report(
        "roll_rates", dt.date(2026, 3, 2),
        (Table("matrix", ("from_state", "to_state", "loans", "share"),
               (("C", "C", 3, Decimal("1.0000")), ("C", "M1", 0, None))),),
    )  # fmt: skip
    macro = _env().get_template("_macros.html").module.report_table
    html = str(macro(report, report.tables[0], Translator("zh"), "/api"))
    assert "1.0000" not in html
    assert '<td data-col="share">100.00%</td>' in html
    assert '<td data-col="share">—</td>' in html
