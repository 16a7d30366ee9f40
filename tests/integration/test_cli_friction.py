"""What an operator meets on the command line: the APR figures explained and a warning
above the cost cap, tables that never cut a word at 80 columns, staff errors said once,
reconcile saying where the rail's address comes from, serve printing the web app."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from mobilend.cli import serve
from mobilend.cli.main import app
from mobilend.cli.output import print_table

runner = CliRunner()
SCHEDULE = ["schedule", "--principal", "10000", "--periods", "12", "--start", "2026-01-31"]


def test_schedule_explains_each_rate_and_warns_above_the_cost_cap() -> None:
    fine = runner.invoke(app, [*SCHEDULE, "--annual-rate", "18"], env={"COLUMNS": "200"})
    assert fine.exit_code == 0, fine.output
    assert "IRR" in fine.output and "for comparison only" in fine.output
    assert "PBOC [2021] No. 3" in fine.output
    assert "WARNING" not in fine.output

    steep = runner.invoke(app, [*SCHEDULE, "--annual-rate", "99"], env={"COLUMNS": "200"})
    assert steep.exit_code == 0, steep.output
    assert "WARNING" in steep.output and "cost cap" in steep.output
    assert re.search(r"above the 24\.0000% cost cap", steep.output)


def test_a_wide_table_is_printed_whole_rather_than_cut_mid_word() -> None:
    table = Table("科目 account", "余额 balance (借+ / 贷-)", "说明 description")
    words = ["cash:rail:in_transit", "12345678.90", "interest receivable of funder bank_a"]
    table.add_row(*words)
    out = io.StringIO()
    print_table(Console(file=out, width=80, force_terminal=False), table)
    text = out.getvalue()
    for word in words:
        assert word in text, text  # each on one line, not broken across two
    narrow = io.StringIO()
    small = Table("a", "b")
    small.add_row("1", "2")
    print_table(Console(file=narrow, width=80), small)
    assert max(len(line) for line in narrow.getvalue().splitlines()) <= 80


def test_reconcile_says_where_the_rail_address_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from mobilend.config import get_settings

    monkeypatch.delenv("MOBILEND_PAYMENT_GATEWAY_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["reconcile", "--date", "2026-01-31"], env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "MOBILEND_PAYMENT_GATEWAY_URL" in result.output and "/health" in result.output


def test_serve_prints_the_web_app_address(monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, object] = {}
    monkeypatch.setattr(serve.uvicorn, "run", lambda *a, **k: started.update(k))
    monkeypatch.setenv("MOBILEND_PUBLIC_URL", "http://127.0.0.1:8123")
    from mobilend.config import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "web app      http://127.0.0.1:8123/" in result.output
    assert "http://127.0.0.1:8123/docs" in result.output
    # The staff console, how to get a login for it, and commands that run from the repo.
    assert "http://127.0.0.1:8123/console" in result.output
    assert ".venv/bin/mobilend staff add admin --role admin" in result.output
    assert ".venv/bin/mobilend simulate --applicants" in result.output
    assert started["port"] == 8123


def test_simulate_help_reads_in_full_at_80_columns() -> None:
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert "report as JSON" in result.output


def test_simulate_progress_line_is_text_not_a_dict() -> None:
    from mobilend.cli.simulate import progress_line

    line = progress_line(10, 120, {"loans": 21, "applied": 50, "s": 5})
    assert line == "第 10/120 天 / day 10/120: 申请 50 applied · 借据 21 loans · 5 s"
    assert "{" not in line and "'" not in line


@pytest.mark.db
def test_staff_add_says_each_problem_once(db: sa.Engine) -> None:
    result = runner.invoke(
        app,
        ["staff", "add", "X", "--role", "admin"],
        env={"MOBILEND_STAFF_PASSWORD": "short", "COLUMNS": "200"},
    )
    assert result.exit_code == 1
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("未创建 / not created")
    problems = lines[1:]
    assert problems and len(problems) == len(set(problems)), result.output
    assert any(p.startswith("username:") for p in problems)
    assert any(p.startswith("password:") for p in problems)
    assert sum("3-64 of a-z" in p for p in problems) == 1
