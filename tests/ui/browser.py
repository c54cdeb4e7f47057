"""Driving the dashboard in headless Chromium: launch options and a page object over Flutter's semantics tree."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from playwright.sync_api import Browser, Locator, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_available() -> bool:
    """Whether the Debian chromium is installed (Playwright drives it; it never downloads its own)."""
    return Path(CHROMIUM).exists()


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def poll(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class DashboardPage:
    """The dashboard as a user sees it, found by role, label, text and semantics identifiers."""

    def __init__(self, page: Page, url: str, screenshots: Path) -> None:
        self.page = page
        self.url = url
        self.screenshots = screenshots
        self.ws_frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        self.ws_frames.append(payload if isinstance(payload, str) else payload.decode("latin-1"))

    def open(self, user: str | None = None, password: str | None = None) -> None:
        """Load the page (logging in first through the login form when given a user) and switch on
        Flutter's accessibility tree (real DOM nodes to find)."""
        if user is not None and password is not None:
            self.log_in(user, password)
        else:
            self.page.goto(self.url)
        self.page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
        self.page.eval_on_selector("flt-semantics-placeholder", "e => e.click()")

    def log_in(self, user: str, password: str, *, expect_success: bool = True) -> None:
        """Fill and send the dashboard's login form (plain HTML, before Flutter starts)."""
        parts = urlsplit(self.url)
        origin, target = f"{parts.scheme}://{parts.netloc}", parts.path or "/"
        self.page.goto(f"{origin}/login" + (f"?next={quote(target)}" if target != "/" else ""))
        self.page.fill("#username", user)
        self.page.fill("#password", password)
        with self.page.expect_navigation(timeout=30_000):
            self.page.click("#sign-in")
        if expect_success:
            poll(lambda: "/login" not in self.page.url, 30, "the login to lead on to the dashboard")

    def shot(self, name: str) -> Path:
        """Save a screenshot after letting the last frame paint."""
        self.page.wait_for_timeout(600)
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    @contextmanager
    def screenshot_on_failure(self) -> Iterator[None]:
        """Leave `failure.png` behind when the block fails, to see what the page showed."""
        try:
            yield
        except BaseException:
            # Best effort: a page too busy to paint must not hide the failure that brought us here.
            try:
                self.page.screenshot(path=str(self.screenshots / "failure.png"), timeout=10_000)
                texts = self.page.eval_on_selector_all(
                    "flt-semantics", "els => els.filter(e => e.children.length <= 1).map(e => e.innerText)"
                )
                (self.screenshots / "failure.txt").write_text("\n".join(texts))
            except Exception as error:  # secondary to the failure re-raised below
                (self.screenshots / "failure.txt").write_text(f"no screenshot: {error}")
            raise

    def text(self, text: str | re.Pattern[str]) -> Locator:
        return self.page.get_by_text(text).first

    def starting(self, prefix: str) -> Locator:
        """The first node whose semantics identifier starts with `prefix` (ids are shortened on screen)."""
        return self.page.locator(f'[flt-semantics-identifier^="{prefix}"]').first

    def field(self, label: str) -> Locator:
        """A text box by its label."""
        return self.page.get_by_role("textbox", name=label, exact=True)

    def fill(self, label: str, value: str) -> None:
        """Type into a text box as a user would: Flutter takes keystrokes once the field has focus."""
        self.field(label).focus()
        self.page.wait_for_timeout(150)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(value)

    def choose_job_type(self, name: str) -> None:
        """Pick a job type's form by the job type's name."""
        self.scroll_form_to_top()
        self.page.locator(f'[flt-semantics-identifier="job-type-{name}"]').click()

    def scroll_form_to_top(self) -> None:
        """Wheel the form's column back up (Flutter scrolls its own views; DOM scrolling does not reach them)."""
        self.wheel(120, 400, -5000)

    def scroll_page(self, *, down: bool) -> None:
        """Wheel the whole page (the narrow layout scrolls as one) to its end or its top."""
        self.wheel(100, 300, 20_000 if down else -20_000)

    def wheel(self, x: float, y: float, delta: float) -> None:
        self.page.mouse.move(x, y)
        steps = max(1, int(abs(delta) // 500))
        for _ in range(steps):  # one big wheel delta is not taken in one go
            self.page.mouse.wheel(0, delta / steps)
            self.page.wait_for_timeout(30)
        self.page.wait_for_timeout(300)

    def scroll_form_to_submit(self) -> None:
        """Scroll the form column down to its Submit row: Flutter exposes only what is on screen."""
        self.wheel(120, 500, 4000)

    def open_more_settings(self) -> None:
        self.page.get_by_role("button", name=re.compile(r"^More settings")).click()
        self.page.wait_for_timeout(400)

    def submit(self) -> str:
        """Press "Submit job"; returns the short id of the job the page confirms (not an earlier one).

        The snack bar says "Job … queued."; the line beside the button follows the job ("queued.",
        "running, 40%.", "succeeded."), so any of these confirms the submission.
        """
        confirmations = self.page.get_by_text(
            re.compile(r"^Job [0-9a-f]{8} (submitted|queued|running|succeeded|failed|cancelled)")
        )
        before = set(confirmations.all_inner_texts())
        self.page.get_by_role("button", name="Submit job").click()
        # The text can match on an accessibility node whose inner text is empty: keep the ones with an id.
        fresh = poll(
            lambda: {
                text for text in set(confirmations.all_inner_texts()) - before if re.search(r"Job [0-9a-f]{8}", text)
            },
            30,
            "the submission to be confirmed",
        )
        found = re.search(r"Job ([0-9a-f]{8})", fresh.pop())
        assert found, "no job id in the confirmation"
        return found.group(1)

    def row(self, short_id: str) -> Locator:
        """A job's row in the list."""
        return self.starting(f"job-{short_id}")

    def progress(self, short_id: str) -> float | None:
        """The row's progress bar value (0–100), or None when the row is not there yet."""
        bar = self.page.get_by_role("progressbar", name=re.compile(f"^Progress of job {short_id}"))
        if bar.count() == 0:
            return None
        value = bar.first.get_attribute("aria-valuenow")
        return float(value) if value is not None else None

    def row_text(self, short_id: str) -> str:
        row = self.row(short_id)
        if row.count() == 0:
            return ""
        return (row.get_attribute("aria-label") or "") + " " + row.inner_text()
