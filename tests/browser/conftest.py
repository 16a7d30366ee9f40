"""Browser tests: Playwright driving Debian's Chromium at a phone viewport (390×844),
against the whole service over real HTTP (uvicorn in a thread) on real PostgreSQL, with
the sandbox SMS and payment gateways. Screenshots go to ``test-artifacts/screenshots/``.

Playwright never downloads browsers here: the suite uses ``/usr/bin/chromium`` (the
``chromium`` Debian package; ``make browser-deps`` installs it with a CJK font).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page
from stdnum.cn import ric
from tests.integration.sandbox_fixtures import *  # noqa: F403  (sandbox fixtures)
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, Sandbox, ServerThread, wait_until

from mobilend.asgi import create_app
from mobilend.bootstrap.platform import build_platform
from mobilend.bootstrap.service import start_background_work
from mobilend.config import Settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE_WIDTH, PHONE_HEIGHT = 390, 844


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser-deps` "
            "(apt-get install chromium fonts-wqy-microhei)"
        )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
    }


@pytest.fixture(autouse=True)
def _page_timeouts(page: Page) -> None:
    # Bounded waits so a broken page fails in seconds rather than hanging the suite.
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(15_000)


@pytest.fixture(autouse=True)
def _no_content_security_policy_violations(page: Page) -> Iterator[None]:
    """Every page the tests visit satisfies the service's Content-Security-Policy: the
    browser reports each blocked inline script, style or handler on the console."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert violations == []


@dataclass
class Service:
    base_url: str
    sms: Sandbox
    payments: Sandbox
    engine: sa.Engine
    platform: Any = None

    def latest_code(self, phone: str) -> str:
        """The newest sign-in code the sandbox SMS gateway holds for ``phone``."""

        def newest() -> str | None:
            response = httpx.get(
                f"{self.sms.base_url}/messages", params={"recipient": "+86" + phone}, timeout=5
            )
            response.raise_for_status()
            messages = response.json()["messages"]
            for message in messages:  # newest first
                # the sandbox lists the codes it saw in each body; a sign-in text has one
                if message["message_id"].startswith("otp-") and message.get("codes"):
                    return str(message["codes"][0])
            return None

        return wait_until(newest, timeout=10)


@pytest.fixture
def service(
    db: sa.Engine,
    tmp_path: Path,
    messaging_gateway_sandbox: Sandbox,
    payment_gateway: Sandbox,
) -> Iterator[Service]:
    """The service (API + web app) on a free port, wired like production but with the
    sandbox gateways and the basic credit policy."""
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        gateway_secret=SANDBOX_SECRET,
        decision_engine="basic",
        otp_sends_per_ip=1_000_000,  # every test borrower signs in from 127.0.0.1
        otp_checks_per_ip=1_000_000,
    )
    platform = build_platform(
        engine=db,
        settings=settings,
        sms_gateway_url=messaging_gateway_sandbox.base_url,
        payment_gateway_url=payment_gateway.base_url,
    )
    server = ServerThread(create_app(platform))
    platform.set_public_url(server.base_url)  # payouts settle by webhook to this service
    start_background_work(platform)
    server.start()
    try:
        yield Service(server.base_url, messaging_gateway_sandbox, payment_gateway, db, platform)
    finally:
        server.stop()
        platform.close()


def national_id(birth: str = "19900307", region: str = "110101", seq: str = "123") -> str:
    """A resident ID number with a valid check digit."""
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


class Screens:
    """Saves a full-page screenshot per screen, numbered in the order they were taken."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, page: Page, name: str) -> Path:
        """The whole page, photographed on a phone as tall as the page (so the sticky
        tab bar sits at the end rather than across the middle of the picture)."""
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        height = int(page.evaluate("document.documentElement.scrollHeight"))
        page.set_viewport_size({"width": PHONE_WIDTH, "height": max(height, PHONE_HEIGHT)})
        try:
            page.screenshot(path=str(path))
        finally:
            page.set_viewport_size({"width": PHONE_WIDTH, "height": PHONE_HEIGHT})
        return path
