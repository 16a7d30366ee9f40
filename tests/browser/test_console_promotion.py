"""Policy and model promotion from the console, in a desktop Chromium: a risk analyst
asks for a policy version and a model to become champion; they cannot approve their
own request; a second analyst approves, and the policies page shows the new champions
(written to the deployment's own policy folder, read by the engine at its next start)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Service
from tests.browser.console_steps import ConsoleShots, add_staff, sign_in, staff_browser
from tests.integration.risk_fixtures import small_model_dir

from mobilend.risk.policy.loader import FILES_DIR


@pytest.fixture
def policy_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployment's own policy folder (the shipped files and a ``cash/v2``) and a
    trained model in the service's models folder, set before the service starts."""
    root = tmp_path / "policy"
    shutil.copytree(FILES_DIR, root)
    shutil.copytree(root / "cash" / "v1", root / "cash" / "v2")
    manifest = json.loads((root / "cash" / "v2" / "policy.json").read_text("utf-8"))
    manifest["version"] = "v2"
    (root / "cash" / "v2" / "policy.json").write_text(json.dumps(manifest), "utf-8")
    # The browser service's var folder is tmp_path / "var".
    shutil.copytree(small_model_dir(), tmp_path / "var" / "models" / "candidate")
    monkeypatch.setenv("MOBILEND_POLICY_DIR", str(root))
    return root


def ask_and_refuse_own(page: Page, service: Service, form: str, kind: str, **fields: str) -> str:
    page.goto(service.base_url + "/console/policies")
    promote = page.get_by_test_id(form)
    for name, value in fields.items():
        control = promote.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    promote.locator("input[name=reason]").fill("回测通过 (backtest passed)")
    promote.locator("button").click()
    if page.get_by_test_id("error").count():
        raise AssertionError(page.get_by_test_id("error").inner_text())
    expect(page).to_have_url(re.compile(r"/console/approvals$"))
    row = page.locator(f"[data-testid=approvals] tr[data-kind={kind}]")
    expect(row).to_have_count(1)
    request_id = str(row.get_attribute("data-request"))
    row.get_by_test_id("self-approve").click()
    expect(page.get_by_test_id("error")).to_contain_text("另一名员工")
    return request_id


def test_a_policy_and_a_model_are_promoted_only_by_a_second_person(
    browser: Browser, policy_folder: Path, service: Service
) -> None:
    assert service.platform.settings.policy_dir == policy_folder
    add_staff(service, "risk-1", "risk")
    add_staff(service, "risk-2", "risk")
    shots = ConsoleShots("promotion")
    with staff_browser(browser) as context:
        maker = context.new_page()
        sign_in(maker, service, "risk-1")
        maker.goto(service.base_url + "/console/policies")
        expect(maker.get_by_test_id("champion-cash")).to_have_text("v1")
        shots.shot(maker, "in-force")
        policy = ask_and_refuse_own(
            maker, service, "promote-policy", "policy_promotion", scenario="cash", version="v2"
        )
        model = ask_and_refuse_own(
            maker, service, "promote-model", "model_promotion", model="candidate"
        )
        shots.shot(maker, "refused")
    with staff_browser(browser) as context:
        checker = context.new_page()
        sign_in(checker, service, "risk-2")
        for request_id in (policy, model):
            checker.goto(service.base_url + "/console/approvals")
            checker.locator(f"tr[data-request='{request_id}']").get_by_test_id(
                "approve-request"
            ).click()
            expect(checker).to_have_url(re.compile(r"/console/approvals$"))
        checker.goto(service.base_url + "/console/policies")
        expect(checker.get_by_test_id("champion-cash")).to_have_text("v2")
        expect(checker.get_by_test_id("champion-model")).to_contain_text("candidate")
        shots.shot(checker, "promoted")
    index = json.loads((policy_folder / "active.json").read_text("utf-8"))
    assert index["active"]["cash"] == "v2"
    assert index["model_dir"].endswith("/candidate")
