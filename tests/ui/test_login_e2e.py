"""The dashboard's login in headless Chromium, against a real API (auth on), worker and Redis.

Without a login the browser gets the login page and nothing else; member A logs in and sees only
A's jobs (B's job page and artifact are refused); logout ends the session for good (the old
cookie, replayed, opens nothing); an admin opens the users page and adds a user who can then log
in. Screenshots: test-artifacts/screenshots/login-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from myspinbot_client import ApiError, MySpinBotClient
from myspinbot_ui.sessions import COOKIE_NAME
from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, DashboardPage, chromium, chromium_available, poll
from tests.ui.conftest import ADMIN, ALICE, API_TOKEN, BOB, fresh_screenshots, job_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def shots() -> Path:
    """This page's screenshots (an earlier run's removed; other pages' left alone)."""
    return fresh_screenshots("login-")


def test_a_member_sees_only_its_jobs_and_logout_ends_the_session(
    ui_stack: LiveStack, dashboard: str, shots: Path
) -> None:
    """Anonymous: the login page only. Alice: her job listed, Bob's not, his page and artifact refused;
    her name and role in the header, no users page; after logout her cookie, replayed, is dead."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    mine = job_of(ui_stack, ALICE, "alice's fox")
    theirs = job_of(ui_stack, BOB, "bob's fox")
    with chromium() as browser:
        context = browser.new_context(viewport=LAPTOP, color_scheme="light")
        ui = DashboardPage(context.new_page(), dashboard, shots)
        page = ui.page
        with ui.screenshot_on_failure():
            page.goto(dashboard)
            poll(lambda: "/login" in page.url, 30, "an anonymous visit to go to the login page")
            assert page.locator("flt-semantics-placeholder").count() == 0  # Flet's client never loaded
            assert page.locator("#password").is_visible()
            ui.shot("login-page")
            anonymous = page.request.get(f"{dashboard}/artifacts/{mine.id}/preview.webp")
            assert anonymous.status == 401

            ui.log_in(ALICE.name, "not her password", expect_success=False)
            page.locator("#login-error").wait_for(timeout=15_000)
            assert page.locator("#login-error").inner_text() == "Wrong user name or password."
            ui.shot("login-refused")

            ui.open(ALICE.name, ALICE.password)
            ui.starting("current-user").wait_for(timeout=30_000)
            poll(lambda: ui.row(mine.id[:8]).count() > 0, 30, "alice's own job on her list")
            assert "alice · member" in (ui.starting("current-user").inner_text() or ""), ui.starting(
                "current-user"
            ).inner_text()
            assert ui.row(theirs.id[:8]).count() == 0, "bob's job is on alice's list"
            assert page.locator('[flt-semantics-identifier="open-users"]').count() == 0
            ui.shot("login-member-board")
            own = page.request.get(f"{dashboard}/artifacts/{mine.id}/preview.webp")
            assert own.status == 200 and own.body()[:4] == b"RIFF"
            assert page.request.get(f"{dashboard}/artifacts/{theirs.id}/preview.webp").status == 404

            page.goto(f"{dashboard}/jobs/{theirs.id}")
            page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
            page.eval_on_selector("flt-semantics-placeholder", "e => e.click()")
            ui.text(f"No job {theirs.id[:8]}").wait_for(timeout=30_000)
            assert ui.page.get_by_text("bob's fox").count() == 0
            ui.shot("login-member-refused-job-page")
            page.get_by_role("button", name="All jobs").click()
            ui.starting("current-user").wait_for(timeout=30_000)

            cookie = next(c for c in context.cookies() if c["name"] == COOKIE_NAME)
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            page.locator('[flt-semantics-identifier="logout"]').click()
            page.locator("#login-info").wait_for(timeout=30_000)
            assert "/login" in page.url, page.url
            assert COOKIE_NAME not in {c["name"] for c in context.cookies()}

        # The old cookie, replayed from outside the browser: the page, the artifact and the websocket refuse it.
        jar = {COOKIE_NAME: cookie["value"]}
        assert httpx.get(dashboard + "/", cookies=jar, headers={"accept": "text/html"}).status_code == 303
        assert httpx.get(f"{dashboard}/artifacts/{mine.id}/preview.webp", cookies=jar).status_code == 401
        context.close()


def test_an_admin_adds_a_user_on_the_users_page(ui_stack: LiveStack, dashboard: str, shots: Path) -> None:
    """Ada (admin) opens Users, sees everyone, adds carol as a member (who can then log in), resets her
    password (her session ends), revokes her keys and makes her a viewer."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    with chromium() as browser:
        ui = DashboardPage(browser.new_page(viewport=LAPTOP, color_scheme="light"), dashboard, shots)
        page = ui.page
        with ui.screenshot_on_failure():
            ui.open(ADMIN.name, ADMIN.password)
            ui.starting("current-user").wait_for(timeout=30_000)
            page.locator('[flt-semantics-identifier="open-users"]').click(timeout=30_000)
            for account in (ADMIN, ALICE, BOB):
                page.locator(f'[flt-semantics-identifier="user-{account.name}"]').wait_for(timeout=30_000)
            ui.fill("New user name", "carol")
            ui.fill("Password", "carol's own passphrase")
            page.locator('[flt-semantics-identifier="add-user"]').click()
            page.locator('[flt-semantics-identifier="user-carol"]').wait_for(timeout=30_000)
            ui.text(re.compile(r"^Added carol \(member\)")).wait_for(timeout=15_000)
            ui.shot("login-users-page")
            with MySpinBotClient(ui_stack.api_url, anonymous=True) as anonymous:
                first = anonymous.login("carol", "carol's own passphrase")
            assert first.user.name == "carol"

            ui.fill("New password for carol", "carol's second passphrase")
            page.locator('[flt-semantics-identifier="reset-carol"]').click()
            ui.text(re.compile(r"^New password set for carol")).wait_for(timeout=15_000)
            page.locator('[flt-semantics-identifier="revoke-carol"]').click()
            ui.text(re.compile(r"^Revoked \d+ keys? of carol")).wait_for(timeout=15_000)
            page.locator('[flt-semantics-identifier="role-carol"]').click()
            page.get_by_text("viewer", exact=True).first.click(timeout=15_000)  # the open menu: no one is a viewer yet
            ui.text("carol is now viewer.").wait_for(timeout=15_000)
    with MySpinBotClient(ui_stack.api_url, first.key) as carol_session, pytest.raises(ApiError) as revoked:
        carol_session.me()  # her first session ended with the reset (and the revocation)
    assert revoked.value.status == 401
    with MySpinBotClient(ui_stack.api_url, API_TOKEN) as admin:
        carol = next(user for user in admin.users() if user.name == "carol")
    assert carol.role.value == "viewer" and carol.has_password
    with MySpinBotClient(ui_stack.api_url, anonymous=True) as anonymous:
        assert anonymous.login("carol", "carol's second passphrase").user.name == "carol"
