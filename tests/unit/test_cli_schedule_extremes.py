"""``mobilend schedule`` on extreme input: a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mobilend.cli.main import app

runner = CliRunner()
BASE = ["schedule", "--principal", "10000", "--annual-rate", "18", "--periods", "12"]


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    ("extra", "option", "says"),
    [
        (["--start", "9999-06-01"], "--start", "9999-12-31"),
        (["--start", "2024-01-01", "--first-due", "9999-12-31"], "--first-due", "9999-12-31"),
        (["--start", "2024-01-01", "--every", "1000000", "--unit", "days"], "--every", "50"),
        (["--start", "2024-01-01", "--every", "100000", "--unit", "months"], "--every", "50"),
        (["--start", "2024-01-01", "--every", "60", "--unit", "months"], "--periods", "50"),
        (["--start", "2024-01-01", "--principal", "1e26"], "--principal", "1,000,000,000"),
        (["--start", "2024-01-01", "--principal", "1e-999999"], "--principal", "fen"),
        (["--start", "2024-01-01", "--periods", "100000000"], "--periods", "600"),
        (["--start", "2024-01-01", "--per-installment-fee", "1e40"], "--per-installment-fee", "1,000,000,000"),
        (["--start", "2024-01-01", "--upfront-fee", "1e40%"], "--upfront-fee", "between 0 and 1"),
        (["--start", "2024-01-01", "--installment-multiple", "1e40"], "--installment-multiple", "CNY"),
        (["--start", "2024-01-01", "--installment-multiple", "5000"], "--installment-multiple", "833.33"),
        (["--start", "2024-01-01", "--annual-rate", "1e999999"], "--annual-rate", "0 到 100"),
        (["--start", "2024-01-01", "--principal", "0.01"], "--principal", "fen"),
    ],
)  # fmt: skip
def test_extreme_input_is_refused_with_the_option_named(
    extra: list[str], option: str, says: str
) -> None:
    args = list(BASE)
    for name, value in zip(extra[::2], extra[1::2], strict=True):
        if name in args:
            args[args.index(name) + 1] = value
        else:
            args += [name, value]
    output = refused(*args)
    assert option in output and says in output


def test_the_largest_allowed_principal_still_computes() -> None:
    result = runner.invoke(
        app, [*BASE, "--principal", "1000000000", "--start", "2024-01-01", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["principal"] == "1000000000.00"


def test_a_one_day_loan_with_a_fee_as_large_prints_its_huge_rate() -> None:
    """1 yuan for a day with a 1 yuan fee: 36 500 % APR, ~7.5e111 % compounded."""
    result = runner.invoke(app, [
        "schedule", "--principal", "1", "--annual-rate", "0", "--periods", "1", "--unit", "days",
        "--start", "2000-01-01", "--per-installment-fee", "1", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["apr"] == "36500.0000"
    assert Decimal(data["effective_annual_rate"]) > Decimal("1e111")


numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1e999999", "-1e-999999", "0", "", "abc", "1,000", "NaN", "Infinity"]),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()), st.sampled_from(["0000-01-01", "2024-02-30", "x"])
)


@settings(max_examples=120, deadline=None)
@given(
    principal=numbers, rate=numbers, periods=st.integers(-5, 10**9), every=st.integers(-5, 10**7),
    unit=st.sampled_from(["days", "weeks", "months"]), start=dates,
    first_due=st.one_of(st.none(), dates), multiple=st.one_of(st.none(), numbers),
    fee=st.one_of(st.none(), numbers, numbers.map(lambda n: f"{n}%")),
)  # fmt: skip
def test_any_input_gives_a_schedule_or_exit_code_2(
    principal: str, rate: str, periods: int, every: int, unit: str, start: str,
    first_due: str | None, multiple: str | None, fee: str | None,
) -> None:  # fmt: skip
    args = [
        "schedule", "--principal", principal, "--annual-rate", rate, "--periods", str(periods),
        "--every", str(every), "--unit", unit, "--start", start, "--json",
    ]  # fmt: skip
    if first_due is not None:
        args += ["--first-due", first_due]
    if multiple is not None:
        args += ["--installment-multiple", multiple]
    if fee is not None:
        args += ["--per-installment-fee", fee]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), " ".join(args)
    assert isinstance(result.exception, (SystemExit, type(None)))
    if result.exit_code == 0:
        data = json.loads(result.stdout)
        assert Decimal(data["totals"]["principal"]) == Decimal(principal)
