"""``mobilend schedule``: the loan calculator on the command line."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy_financial as npf
import pytest
from typer.testing import CliRunner

from mobilend.cli.main import app

runner = CliRunner()
BASE = ["schedule", "--principal", "10000", "--annual-rate", "18", "--periods", "12"]
DATED = [*BASE, "--start", "2024-01-31", "--day-count", "30/360"]


def run_json(*extra: str) -> dict[str, object]:
    result = runner.invoke(app, [*DATED, "--json", *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_json_has_exactly_the_documented_shape() -> None:
    data = run_json()
    assert set(data) == {"installments", "totals", "apr", "effective_annual_rate"}
    installments = data["installments"]
    assert isinstance(installments, list) and len(installments) == 12
    for row in installments:
        assert set(row) == {
            "n",
            "due_date",
            "principal",
            "interest",
            "fees",
            "total",
            "balance_after",
        }
        for key in ("principal", "interest", "fees", "total", "balance_after"):
            assert isinstance(row[key], str)
            Decimal(row[key])  # a decimal string
    assert data["totals"] == {
        "principal": "10000.00",
        "interest": str(sum(Decimal(r["interest"]) for r in installments)),
        "fees": "0.00",
        "total": str(sum(Decimal(r["total"]) for r in installments)),
    }


def test_json_figures_match_numpy_financial() -> None:
    """18 % over 12 months on 30/360: pmt(0.015, 12, -10000) = 916.80; APR 18 %."""
    data = run_json()
    installments = data["installments"]
    assert isinstance(installments, list)
    assert installments[0]["total"] == f"{npf.pmt(0.015, 12, -10000):.2f}"
    assert [r["due_date"] for r in installments[:3]] == ["2024-02-29", "2024-03-31", "2024-04-30"]
    assert installments[-1]["balance_after"] == "0.00"
    assert abs(Decimal(str(data["apr"])) - Decimal("18")) < Decimal("0.001")  # percent
    expected_ear = ((1 + 0.015) ** 12 - 1) * 100
    assert abs(float(str(data["effective_annual_rate"])) - expected_ear) < 0.001


def test_fees_are_shown_and_raise_the_apr() -> None:
    plain = run_json()
    with_fees = run_json("--upfront-fee", "2%:guarantor", "--per-installment-fee", "5")
    assert with_fees["installments"][0]["fees"] == "5.00"  # type: ignore[index]
    assert with_fees["totals"]["fees"] == "60.00"  # type: ignore[index]
    assert Decimal(str(with_fees["apr"])) > Decimal(str(plain["apr"]))


@pytest.mark.parametrize(
    "method", ["equal-installment", "equal-principal", "flat", "interest-first", "bullet"]
)
def test_every_method_runs(method: str) -> None:
    data = run_json("--method", method)
    assert data["totals"]["principal"] == "10000.00"  # type: ignore[index]


def test_weeks_grace_rounding_and_multiple() -> None:
    data = run_json(
        "--every",
        "2",
        "--unit",
        "weeks",
        "--principal-grace",
        "2",
        "--rounding",
        "half-even",
        "--installment-multiple",
        "1",
        "--first-due",
        "2024-02-10",
    )
    installments = data["installments"]
    assert isinstance(installments, list)
    assert [r["due_date"] for r in installments[:2]] == ["2024-02-10", "2024-02-24"]
    assert [r["principal"] for r in installments[:2]] == ["0.00", "0.00"]
    for row in installments[2:-1]:
        assert Decimal(row["principal"]) + Decimal(row["interest"]) == Decimal(row["total"])
        assert Decimal(row["total"]) % 1 == 0


def test_table_by_default() -> None:
    result = runner.invoke(app, [*DATED, "--upfront-fee", "100"])
    assert result.exit_code == 0, result.output
    assert "还款计划" in result.output
    assert "916.80" in result.output
    assert "2024-02-29" in result.output
    assert "APR" in result.output
    assert "100.00" in result.output  # the upfront fee, listed apart


def test_day_count_is_case_insensitive() -> None:
    result = runner.invoke(
        app, [*BASE, "--start", "2024-01-01", "--day-count", "act/365", "--json"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        (["--start", "2024-02-30"], "--start"),
        (["--start", "2024-01-01", "--first-due", "2023-12-01"], "--first-due"),
        (["--start", "2024-01-01", "--principal-grace", "12"], "--principal-grace"),
        (["--start", "2024-01-01", "--upfront-fee", "abc"], "--upfront-fee"),
        (["--start", "2024-01-01", "--upfront-fee", "10000"], "--upfront-fee"),
        (["--start", "2024-01-01", "--installment-multiple", "-1"], "--installment-multiple"),
        (["--start", "2024-01-01", "--every", "0"], "--every"),
        (["--start", "2024-01-01", "--method", "balloon"], "--method"),
        (["--start", "2024-01-01", "--unit", "years"], "--unit"),
    ],
)
def test_bad_options_exit_2_with_a_message(extra: list[str], mentions: str) -> None:
    result = runner.invoke(app, [*BASE, *extra])
    assert result.exit_code == 2
    assert mentions in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_several_bad_values_are_reported_together() -> None:
    result = runner.invoke(
        app,
        [
            "schedule",
            "--principal",
            "-5",
            "--annual-rate",
            "150",
            "--periods",
            "0",
            "--start",
            "2024-01-01",
        ],
    )
    assert result.exit_code == 2
    for option in ("--principal", "--annual-rate", "--periods"):
        assert option in result.output
