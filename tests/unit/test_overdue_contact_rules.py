"""Overdue contact goes through the conduct gate only: servicing's reminder plan refuses a
step after the due date, servicing never sends outside the conduct rules' contact hours
whatever its own quiet hours say, and the import-linter contract breaks as soon as a
module other than the listed senders imports the message gateway."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mobilend.app.servicing.notifications import send_time
from mobilend.app.servicing.settings import (
    DEFAULT_REMINDER_PLAN,
    MessagingSettings,
    QuietHours,
    ReminderStep,
)
from mobilend.domain.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTRACT_ID = "overdue_contact_through_gate"


def test_servicing_plans_no_reminder_after_the_due_date() -> None:
    assert max(step.offset for step in DEFAULT_REMINDER_PLAN) == 0
    with pytest.raises(ValidationFailed) as caught:
        MessagingSettings(reminder_plan=(ReminderStep(1, "reminder_due_today"),))
    assert caught.value.problems[0].field == "reminder_plan"


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2026, 3, 2, 23, 0), dt.datetime(2026, 3, 3, 8, 0)),
        (dt.datetime(2026, 3, 2, 7, 30), dt.datetime(2026, 3, 2, 8, 0)),
        (dt.datetime(2026, 3, 2, 22, 0), dt.datetime(2026, 3, 3, 8, 0)),
        (dt.datetime(2026, 3, 2, 21, 59), dt.datetime(2026, 3, 2, 21, 59)),
    ],
)
def test_a_lax_quiet_hours_setting_cannot_send_outside_contact_hours(
    local: dt.datetime, expected: dt.datetime
) -> None:
    lax = QuietHours(dt.time(23, 30), dt.time(6, 0))  # would allow 22:00–23:30 and 06:00–08:00
    moment = local.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)
    out = send_time(moment, "Asia/Shanghai", lax)
    assert out.astimezone(SHANGHAI).replace(tzinfo=None) == expected


# --------------------------------------------------------------------------- the contract


def _module_file(root: Path, module: str) -> Path:
    """Where ``module`` lives in the synthetic tree, as a package (every name may have
    children in the real project)."""
    path = root.joinpath(*module.split("."))
    path.mkdir(parents=True, exist_ok=True)
    return path / "__init__.py"


def _synthetic_tree(root: Path, contract: dict[str, object]) -> None:
    """A package holding just the modules the contract names, with the allowed imports."""
    modules = {"mobilend.app.servicing.notifications", "mobilend.app.servicing.autodebit"}
    for key in ("source_modules", "forbidden_modules"):
        modules.update(str(m).replace(".*", "") for m in contract[key])  # type: ignore[attr-defined]
    imports: dict[str, list[str]] = {}
    for rule in contract.get("ignore_imports", []):  # type: ignore[attr-defined]
        importer, imported = (part.strip() for part in str(rule).split("->"))
        modules.update((importer, imported))
        imports.setdefault(importer, []).append(imported)
    for module in sorted(modules):
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            _module_file(root, ".".join(parts[:i])).touch()
    for importer, imported in imports.items():
        _module_file(root, importer).write_text("".join(f"import {m}\n" for m in imported))


def _lint(root: Path, contract: dict[str, object]) -> subprocess.CompletedProcess[str]:
    config = root / "importlinter.toml"
    lines = ['[tool.importlinter]\nroot_package = "mobilend"\n\n[[tool.importlinter.contracts]]']
    for key, value in contract.items():
        lines.append(f"{key} = {value!r}".replace("True", "true").replace("False", "false"))
    config.write_text("\n".join(lines) + "\n")
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        capture_output=True, text=True, env=env, cwd=root, check=False,
    )  # fmt: skip


def test_the_contract_breaks_when_servicing_imports_the_gateway_for_overdue_contact(
    tmp_path: Path,
) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    [contract] = [
        c for c in config["tool"]["importlinter"]["contracts"] if c.get("id") == CONTRACT_ID
    ]
    _synthetic_tree(tmp_path, contract)
    kept = _lint(tmp_path, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    # A servicing module sending overdue reminders on its own: the contract breaks.
    overdue = tmp_path / "mobilend" / "app" / "servicing" / "overdue_reminders.py"
    overdue.write_text("from mobilend.app import messaging\n")
    broken = _lint(tmp_path, contract)
    assert broken.returncode != 0
    assert "mobilend.app.servicing.overdue_reminders -> mobilend.app.messaging" in broken.stdout

    # Reaching the gateway through the dialer's module instead is caught as well.
    overdue.write_text("import mobilend.app.collections.channels\n")
    assert _lint(tmp_path, contract).returncode != 0
