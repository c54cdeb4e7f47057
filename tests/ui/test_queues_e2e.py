"""The dashboard's queue control in headless Chromium: the queues panel with its pause switch,
a queued job's place, "Run next", a batch row, and "Edit and resubmit".

Screenshots go to test-artifacts/screenshots/queues-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator

from myspinbot_client import MySpinBotClient
from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, DashboardPage, chromium, chromium_available, poll
from tests.ui.conftest import ADMIN, API_TOKEN, fresh_screenshots, live_ui_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The dashboard tests' stack (token, quick mock steps) with one worker slot, so places are plain."""
    yield from live_ui_stack(tmp_path_factory, "ui-queues-stack", concurrency=1, MYSPINBOT_MOCK_STEP_SECONDS="0.05")


@pytest.fixture(scope="module")
def shots() -> Path:
    """This page's screenshots (an earlier run's removed; other pages' left alone)."""
    return fresh_screenshots("queues-")


def text_of(node: Locator) -> str:
    """The text under a semantics node (its label included), "" while it is not on the page."""
    if node.count() == 0:
        return ""
    return str(
        node.evaluate(
            "e => (e.innerText || '') + ' ' + (e.getAttribute('aria-label') || '') + ' ' + "
            "Array.from(e.querySelectorAll('[aria-label]')).map(x => x.getAttribute('aria-label')).join(' ')"
        )
    )


def test_queues_panel_pauses_places_batches_and_resubmits(ui_stack: LiveStack, dashboard: str, shots: Path) -> None:
    """Pause from the switch; jobs wait with "#n in queue"; "Run next" makes one #1; resume runs
    them; the batch row reaches 100%; "Edit and resubmit" prefills the form and makes a clone."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    api = MySpinBotClient(ui_stack.api_url, API_TOKEN)
    with chromium() as browser:
        ui = DashboardPage(browser.new_page(viewport=LAPTOP, color_scheme="light"), dashboard, shots)
        ui.open(ADMIN.name, ADMIN.password)
        page = ui.page
        with ui.screenshot_on_failure():
            panel = page.locator('[flt-semantics-identifier="queues-panel"]')
            panel.wait_for(timeout=30_000)
            ui.wheel(120, 500, 4000)  # the panel is under the form, in the left column, folded
            page.get_by_role("button", name=re.compile(r"^Queues")).click()
            sleepy = page.locator('[flt-semantics-identifier="queue-sleepy"]')
            poll(lambda: "1 slot" in text_of(sleepy), 30, "the sleepy queue with its worker's slot")
            page.locator('[flt-semantics-identifier="pause-sleepy"]').click()
            poll(lambda: next(q for q in api.queues() if q.name == "sleepy").paused, 20, "the switch to pause sleepy")

            batch = api.submit_batch("sleepy", sweep={"steps": [1, 2, 3]}, base={"step_seconds": 0})
            singles = [api.submit("sleepy", {"steps": 2, "note": f"single {n}"}) for n in range(2)]
            last = singles[-1]
            place = page.locator(f'[flt-semantics-identifier="place-{last.id}"]')
            poll(
                lambda: "#5 in queue" in (place.inner_text() if place.count() else ""),
                30,
                "#5 in queue on the last job",
            )
            poll(lambda: "Paused · 5 waiting" in text_of(sleepy), 10, "the queue paused with 5 waiting")
            batch_row = page.locator(f'[flt-semantics-identifier="batch-{batch.id}"]')
            poll(lambda: f"Batch {batch.id[:8]} · 3 sleepy jobs" in text_of(batch_row), 10, "the batch row")
            ui.shot("queues-panel-paused")
            panel.screenshot(path=str(shots / "queues-panel.png"))
            page.locator(f'[flt-semantics-identifier="job-{last.id}"]').screenshot(
                path=str(shots / "queues-queued-job.png")
            )

            page.locator(f'[flt-semantics-identifier="run-next-{last.id}"]').click()
            poll(lambda: "#1 in queue" in text_of(place), 20, "the moved job to be #1")
            assert api.get(last.id).priority.value == "high"

            page.locator('[flt-semantics-identifier="pause-sleepy"]').click()
            poll(lambda: all(api.get(job_id).finished for job_id in batch.job_ids), 60, "the batch to run")
            poll(lambda: "100% · 3 succeeded" in text_of(batch_row), 20, "the batch row to reach 100%")
            ui.shot("queues-batch-done")
            first_run = [api.get(job.id) for job in singles]
            assert api.get(last.id).started_at < min(api.get(j).started_at for j in batch.job_ids)  # type: ignore[operator]

            done = poll(lambda: all(api.get(job.id).finished for job in first_run), 30, "the single jobs to finish")
            assert done
            page.locator(f'[flt-semantics-identifier="edit-{singles[0].id}"]').click()
            ui.text(re.compile(rf"Editing a copy of job {singles[0].id[:8]}")).wait_for(timeout=10_000)
            ui.scroll_form_to_top()
            ui.shot("queues-edit-and-resubmit")  # the form shows the job's values (steps 2, note "single 0")
            ui.fill("Steps", "3")
            clone_short = ui.submit()
            clone = next(job for job in api.list(limit=20) if job.id.startswith(clone_short))
            assert clone.cloned_from == singles[0].id and clone.params["steps"] == 3
            assert clone.params["note"] == "single 0"
