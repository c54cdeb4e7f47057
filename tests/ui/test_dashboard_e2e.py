"""The dashboard in headless Chromium against a real API, worker and Redis.

One browser page walks through what a user does: check health, submit a generate job (after
an API validation error), watch it finish and open its preview, train on uploaded images and
download the LoRA, cancel a running job, and live through an API restart. Screenshots of each
state go to test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from PIL import Image

from myspinbot_client import Job, JobState, MySpinBotClient
from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, PHONE, DashboardPage, chromium, chromium_available, poll
from tests.ui.conftest import ADMIN, API_TOKEN, PAGE_SIZE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def training_images(folder: Path) -> list[Path]:
    """Three small images and one caption, like a tiny LoRA dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, color in enumerate([(200, 60, 40), (40, 160, 90), (50, 80, 200)]):
        path = folder / f"subject_{index}.png"
        Image.new("RGB", (96, 96), color).save(path)
        paths.append(path)
    caption = folder / "subject_0.txt"
    caption.write_text("a photo of a subject")
    return [*paths, caption]


def job_by_short_id(api: MySpinBotClient, short_id: str) -> Job:
    """The job whose id starts with what the page shows."""
    return next(job for job in api.list(limit=20) if job.id.startswith(short_id))


def watch_progress(ui: DashboardPage, short_id: str, timeout: float) -> list[float]:
    """The distinct values the row's progress bar showed until it reached 100."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ui.progress(short_id)
        if value is not None and (not seen or value != seen[-1]):
            seen.append(value)
        if value == 100:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {short_id} did not reach 100%: saw {seen}")


def check_health(ui: DashboardPage) -> None:
    ui.text("API OK").wait_for(timeout=30_000)
    ui.text("Redis OK").wait_for()
    ui.text(re.compile(r"^\d+ workers? online$")).wait_for()
    ui.text("Live").wait_for(timeout=15_000)
    ui.shot("01-health")


def generate_and_preview(ui: DashboardPage) -> None:
    page = ui.page
    ui.choose_job_type("generate")
    ui.fill("Prompt *", "a red fox running through fresh snow, golden hour")
    ui.open_more_settings()
    ui.fill("Frames", "6")
    page.get_by_role("button", name="Submit job").click()
    # The API's own check (frames must be 4k+1), shown under the field it names.
    ui.text(re.compile(r"^num_frames must be 4k\+1.*nearest are 5 and 9")).wait_for(timeout=15_000)
    ui.wheel(120, 500, 300)
    ui.shot("02-generate-validation-error")

    ui.fill("Frames", "17")
    ui.fill("Inference steps", "12")
    short_id = ui.submit()
    progress = watch_progress(ui, short_id, timeout=60)
    assert len(progress) >= 3 and progress == sorted(progress), f"the bar did not rise step by step: {progress}"
    poll(lambda: re.search(r"step (\d+)/\1 · done", ui.row_text(short_id)), 10, "the row to say done")
    # The line beside Submit follows the job: it says "succeeded." now, no longer "queued.".
    ui.scroll_form_to_submit()
    ui.text(f"Job {short_id} succeeded.").wait_for(timeout=10_000)
    ui.shot("03-generate-done")

    with page.expect_response(re.compile(rf"/artifacts/{short_id}[0-9a-f]*/preview\.")) as preview:
        ui.starting(f"preview-{short_id}").click()
    assert preview.value.status == 200
    assert preview.value.headers["content-type"].startswith("image/")
    page.get_by_role("img", name=f"Preview of job {short_id}").wait_for(timeout=10_000)
    ui.shot("04-generate-preview")
    page.get_by_role("button", name="Close").click()


def train_with_uploads(ui: DashboardPage, api: MySpinBotClient, dataset: list[Path], downloads: Path) -> None:
    page = ui.page
    ui.choose_job_type("train")
    ui.fill("Base model *", "stabilityai/stable-diffusion-xl-base-1.0")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Choose files").click()
    chooser.value.set_files([str(path) for path in dataset])
    ui.text(re.compile(r"^4 files · ")).wait_for(timeout=10_000)
    ui.shot("05-train-files-picked")

    short_id = ui.submit()
    inputs = job_by_short_id(api, short_id).inputs
    assert len(inputs) == len(dataset), inputs
    watch_progress(ui, short_id, timeout=90)
    lora = ui.row(short_id).get_by_role("button", name=re.compile(r"\.safetensors"))
    lora.wait_for(timeout=10_000)
    with page.expect_download() as download:
        lora.click()
    assert download.value.suggested_filename.endswith(".safetensors")
    saved = downloads / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.stat().st_size > 0
    ui.shot("06-train-done")


def cancel_running(ui: DashboardPage, api: MySpinBotClient) -> None:
    ui.choose_job_type("sleepy")
    ui.fill("Steps", "300")
    ui.fill("Step Seconds", "0.1")
    short_id = ui.submit()
    poll(lambda: (ui.progress(short_id) or 0) > 0, 30, "the job to start running")
    ui.shot("07-running")
    ui.row(short_id).get_by_role("button", name="Cancel").click()
    poll(lambda: "Cancelled" in ui.row_text(short_id), 30, "the job to show as cancelled")
    assert job_by_short_id(api, short_id).state is JobState.CANCELLED
    ui.shot("08-cancelled")

    # The state filter keeps only the cancelled job in the list.
    ui.starting("filter-state-cancelled").click()
    poll(lambda: ui.page.get_by_role("progressbar").count() == 1, 10, "only the cancelled job to be listed")
    assert "Cancelled" in ui.row_text(short_id)
    ui.shot("09-filter-cancelled")
    ui.starting("filter-state-all").click()
    poll(lambda: ui.page.get_by_role("progressbar").count() > 1, 10, "every job to be listed again")


def survive_api_restart(ui: DashboardPage, api: MySpinBotClient, stack: LiveStack) -> None:
    job = api.submit("sleepy", {"steps": 25, "step_seconds": 0.1})
    short_id = job.id[:8]
    poll(lambda: (ui.progress(short_id) or 0) > 0, 30, "the job to start")
    stack.stop_api()
    banner = re.compile(r"^Cannot reach the API")
    ui.text(banner).wait_for(timeout=20_000)
    ui.shot("10-api-down")
    stack.start_api()
    poll(lambda: ui.page.get_by_text(banner).count() == 0, 30, "the outage banner to go")
    # The job ended while the API was down: its last events are replayed, nothing is missed.
    poll(lambda: ui.progress(short_id) == 100, 30, "the job that finished during the outage to show done")
    assert "Done" in ui.row_text(short_id)
    ui.shot("11-api-recovered")


def phone_with_older_jobs(ui: DashboardPage) -> None:
    page = ui.page
    ui.open(ADMIN.name, ADMIN.password)
    ui.text("API OK").wait_for(timeout=30_000)
    poll(lambda: page.get_by_role("progressbar").count() == PAGE_SIZE, 15, "the first page of jobs")
    ui.scroll_page(down=True)
    ui.shot("13-phone")
    page.get_by_role("button", name="Load older jobs").click()
    poll(lambda: page.get_by_role("progressbar").count() > PAGE_SIZE, 15, "older jobs to load")
    ui.shot("14-phone-older-jobs")


def test_dashboard_end_to_end(ui_stack: LiveStack, dashboard: str, screenshots: Path, tmp_path: Path) -> None:
    """A user submits, watches, previews, uploads, downloads and cancels; an API restart is survived."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    api = MySpinBotClient(ui_stack.api_url, API_TOKEN)
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, color_scheme="light", accept_downloads=True)
        ui = DashboardPage(page, dashboard, screenshots)
        ui.open(ADMIN.name, ADMIN.password)
        with ui.screenshot_on_failure():
            check_health(ui)
            generate_and_preview(ui)
            train_with_uploads(ui, api, training_images(tmp_path / "dataset"), tmp_path)
            cancel_running(ui, api)
            survive_api_restart(ui, api, ui_stack)

            page.emulate_media(color_scheme="dark")
            ui.shot("12-dark")
        frames = ui.ws_frames
        page.close()

        # A fresh session on a phone-width window: the first page of jobs, then older ones on demand.
        phone = DashboardPage(browser.new_page(viewport=PHONE, color_scheme="light"), dashboard, screenshots)
        with phone.screenshot_on_failure():
            phone_with_older_jobs(phone)
        frames += phone.ws_frames

    assert frames and not [frame for frame in frames if API_TOKEN in frame], "the API token reached the browser"
