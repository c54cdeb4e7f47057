"""The dashboard's notifications page in headless Chromium: add a webhook, send a test, see deliveries.

The receiver is a real HTTP server on 127.0.0.1, which this module's stack allows
(MYSPINBOT_WEBHOOK_ALLOW_PRIVATE); screenshots go to test-artifacts/screenshots/notifications-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot_client import MySpinBotClient
from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, DashboardPage, chromium, chromium_available, poll
from tests.ui.conftest import ADMIN, API_TOKEN, fresh_screenshots, live_ui_stack
from tests.webhooks.receiver import running_receiver
from tests.webhooks.support import LOOPBACK_ENV, documented_verify

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The dashboard tests' stack (token, quick mock steps) allowed to deliver webhooks to 127.0.0.1."""
    yield from live_ui_stack(
        tmp_path_factory, "ui-notifications-stack", MYSPINBOT_MOCK_STEP_SECONDS="0.05", **LOOPBACK_ENV
    )


@pytest.fixture(scope="module")
def shots() -> Path:
    """This page's screenshots (an earlier run's removed; other pages' left alone)."""
    return fresh_screenshots("notifications-")


def test_notifications_page_adds_a_webhook_sends_a_test_and_shows_deliveries(
    ui_stack: LiveStack, dashboard: str, shots: Path
) -> None:
    """Refused for a private URL, a user adds a loopback receiver, keeps the secret, pings it, sees a job's delivery."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    api = MySpinBotClient(ui_stack.api_url, API_TOKEN)
    with running_receiver() as receiver, chromium() as browser:
        ui = DashboardPage(browser.new_page(viewport=LAPTOP, color_scheme="light"), dashboard, shots)
        ui.open(ADMIN.name, ADMIN.password)
        page = ui.page
        with ui.screenshot_on_failure():
            page.get_by_role("button", name="Notifications").click()
            ui.text("Add a webhook").wait_for(timeout=30_000)
            ui.text("No webhooks yet.").wait_for(timeout=15_000)

            ui.fill("Receiver URL", "http://10.20.30.40/hook")
            page.get_by_role("button", name="Add webhook").click()
            ui.text(re.compile(r"10\.20\.30\.40, a loopback, private or link-local address")).wait_for(timeout=15_000)
            ui.shot("notifications-01-refused")

            ui.fill("Receiver URL", receiver.url)
            page.get_by_role("button", name="Add webhook").click()
            secret_text = page.locator('[flt-semantics-identifier="webhook-secret-value"]')
            secret_text.wait_for(timeout=15_000)
            secret = secret_text.inner_text().strip()
            assert secret.startswith("whsec_")
            ui.text(receiver.url).wait_for()
            ui.shot("notifications-02-added-secret-shown")

            page.get_by_role("button", name="Send test").click()
            (ping,) = receiver.wait_for(1)
            ui.text("ping").wait_for(timeout=15_000)
            ui.text(re.compile(r"1 attempt · last HTTP 200")).wait_for(timeout=15_000)

            job = api.submit("sleepy", {"steps": 2, "step_seconds": 0.01})
            api.wait(job.id, timeout=30)
            receiver.wait_for(2)
            succeeded = page.locator('[flt-semantics-identifier^="delivery-succeeded-"]')
            poll(lambda: succeeded.count() == 2, 15, "the job's delivery to show as succeeded")
            page.set_viewport_size({"width": LAPTOP["width"], "height": 1100})  # both delivery rows in view
            ui.shot("notifications-03-deliveries")

            page.get_by_role("button", name="I have saved it").click()
            secret_text.wait_for(state="detached", timeout=10_000)
            page.get_by_role("button", name="Back to jobs").click()
            ui.text("New job").wait_for(timeout=15_000)

    assert documented_verify()(secret, ping.headers, ping.body)
    hooks = api.webhooks()
    assert [hook.url for hook in hooks] == [receiver.url] and "secret" not in hooks[0].model_dump()
    assert [delivery.event for delivery in api.webhook_deliveries(hooks[0].id)] == ["job.succeeded", "ping"]
    api.delete_webhook(hooks[0].id)
    assert api.webhooks() == []
