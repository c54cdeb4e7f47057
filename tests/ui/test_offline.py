"""With the network cut off, `/docs` renders its operations and the dashboard loads nothing off the machine.

Every request the browser makes to a host other than this machine is counted and refused
(page.route); websockets are checked too. A count above zero fails: the README's `/docs` link
and the dashboard must work on a machine without internet, and leak nothing to a CDN.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route

from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, DashboardPage, chromium, chromium_available
from tests.ui.conftest import ADMIN, SCREENSHOTS

pytestmark = pytest.mark.e2e

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class OffMachineGuard:
    """Refuses and records every request a page tries to send to another host."""

    def __init__(self, page: Page) -> None:
        self.attempts: list[str] = []
        self.websockets: list[str] = []
        self.csp_reports: list[str] = []
        page.route("**/*", self._route)
        page.on("websocket", lambda ws: self.websockets.append(ws.url))
        page.on("console", self._console)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in LOOPBACK:
            route.continue_()
            return
        self.attempts.append(url)
        route.abort("internetdisconnected")

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_reports.append(message.text)

    def off_machine_websockets(self) -> list[str]:
        return [url for url in self.websockets if urlparse(url).hostname not in LOOPBACK]


@pytest.fixture(scope="module")
def offline_shots() -> Path:
    """A screenshot folder of this module's own (the e2e module empties the shared one)."""
    folder = SCREENSHOTS / "offline"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_docs_and_dashboard_work_with_the_network_cut_off(
    ui_stack: LiveStack, dashboard: str, offline_shots: Path
) -> None:
    """/docs shows every operation from files the API serves itself; the dashboard renders and its
    requests to other hosts (the Rive runtime on a CDN) are zero: its CSP stops them in the browser."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, color_scheme="light")
        guard = OffMachineGuard(page)

        page.goto(f"{ui_stack.api_url}/docs")
        operations = page.locator(".opblock-summary")
        operations.first.wait_for(timeout=30_000)
        assert operations.count() >= 10, operations.count()
        assert page.get_by_text("MySpinBot API").first.is_visible()
        assert page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/jobs/\{job_type\}$")).count() >= 1
        page.wait_for_timeout(500)
        page.screenshot(path=str(offline_shots / "docs-offline.png"), full_page=False)

        ui = DashboardPage(page, dashboard, offline_shots)
        ui.open(ADMIN.name, ADMIN.password)
        with ui.screenshot_on_failure():
            ui.text("API OK").wait_for(timeout=30_000)
            page.get_by_role("button", name="Submit job").wait_for(timeout=15_000)
            ui.text("Live").wait_for(timeout=15_000)
            page.wait_for_timeout(2000)  # the semantics tree is ready before the canvas has painted
            ui.shot("dashboard-offline")
        page.close()

    assert guard.attempts == [], f"requests tried to leave the machine: {guard.attempts}"
    assert guard.off_machine_websockets() == []
    # The one request Flet's client hard-codes is refused by the policy before any network use.
    assert any("rive" in report.lower() or "jsdelivr" in report for report in guard.csp_reports), guard.csp_reports
