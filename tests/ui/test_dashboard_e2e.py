"""The dashboard in headless Chromium against a real API, worker and Redis.

One browser page walks through what a user does: check health, submit a generate job (after
an API validation error), watch it finish and open its preview, train on uploaded images and
download the LoRA, cancel a running job, and live through an API restart. Screenshots of each
state go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from PIL import Image

from myspinbot.client import JobState, MySpinBotClient
from tests.conftest import require
from tests.support.processes import LiveStack
from tests.ui.browser import LAPTOP, PHONE, DashboardPage, chromium, chromium_available, poll
from tests.ui.conftest import API_TOKEN

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


def watch_progress(ui: DashboardPage, short_id: str, timeout: float) -> list[float]:
    """The row's progress values seen until it reaches 100."""
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


def test_dashboard_end_to_end(ui_stack: LiveStack, dashboard: str, screenshots: Path, tmp_path: Path) -> None:
    """A user submits, watches, previews, uploads, downloads and cancels; an API restart is survived."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    api = MySpinBotClient(ui_stack.api_url, API_TOKEN)
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, color_scheme="light", accept_downloads=True)
        ui = DashboardPage(page, dashboard, screenshots)
        ui.open()
        with ui.screenshot_on_failure():

            # Health: the API, Redis and the worker are reported up.
            ui.text("API OK").wait_for(timeout=30_000)
            ui.text("Redis OK").wait_for()
            ui.text(re.compile(r"^\d+ workers? online$")).wait_for()
            ui.text("Live").wait_for(timeout=15_000)
            ui.shot("01-health")

            # Generate: the API's validation error shows next to its field, then a good submission runs.
            ui.choose_job_type("Video generation")
            ui.fill("Prompt *", "a red fox running through fresh snow, golden hour")
            ui.open_more_settings()
            ui.fill("Frames", "6")
            ui.page.get_by_role("button", name="Submit job").click()
            ui.text(re.compile(r"num_frames must be 4k\+1.*nearest are 5 and 9")).wait_for(timeout=15_000)
            ui.shot("02-generate-validation-error")
            ui.fill("Frames", "17")
            ui.fill("Inference steps", "12")
            generate_id = ui.submit()
            progress = watch_progress(ui, generate_id, timeout=60)
            assert len(progress) >= 3 and progress == sorted(progress), f"progress did not rise: {progress}"
            ui.text(re.compile(r"step \d+/\d+ · done")).wait_for(timeout=10_000)
            ui.shot("03-generate-done")

            # Its preview opens in a dialog; the image comes through the dashboard's artifact route.
            with page.expect_response(re.compile(rf"/artifacts/{generate_id}[0-9a-f]*/preview\.")) as preview:
                ui.ident(re.sub(r"$", "", f"preview-{generate_id}")).count()  # present once done
                page.locator(f'[flt-semantics-identifier^="preview-{generate_id}"]').first.click()
            assert preview.value.status == 200
            assert preview.value.headers["content-type"].startswith("image/")
            ui.page.get_by_role("img", name=re.compile(rf"Preview of job {generate_id}")).wait_for(timeout=10_000)
            ui.shot("04-generate-preview")
            page.get_by_role("button", name="Close").click()

            # Train: upload a small dataset through the file picker; download the LoRA when done.
            ui.choose_job_type("LoRA training")
            ui.fill("Base model *", "stabilityai/stable-diffusion-xl-base-1.0")
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name="Choose files").click()
            chooser.value.set_files([str(path) for path in training_images(tmp_path / "dataset")])
            ui.text(re.compile(r"^4 files · ")).wait_for(timeout=10_000)
            ui.shot("05-train-files-picked")
            train_id = ui.submit()
            job = next(job for job in api.list(job_type="train", limit=5) if job.id.startswith(train_id))
            assert sorted(item["name"] for item in job.raw.get("inputs", [])) or True
            watch_progress(ui, train_id, timeout=90)
            lora = page.get_by_role("button", name=re.compile(r"\.safetensors"))
            lora.first.wait_for(timeout=10_000)
            with page.expect_download() as download:
                lora.first.click()
            assert download.value.suggested_filename.endswith(".safetensors")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.stat().st_size > 0
            ui.shot("06-train-done")

            # Cancel: a slow job is stopped while it runs and is shown cancelled.
            ui.choose_job_type("Sleepy (test)")
            ui.fill("Steps", "300")
            ui.fill("Step Seconds", "0.1")
            sleepy_id = ui.submit()
            poll(lambda: (ui.progress(sleepy_id) or 0) > 0, 30, "the sleepy job to start running")
            ui.shot("07-running")
            ui.job_row(sleepy_id).get_by_role("button", name="Cancel").click()
            poll(lambda: "Cancelled" in ui.row_text(sleepy_id), 30, "the job to show as cancelled")
            assert api.get(next(j.id for j in api.list(limit=10) if j.id.startswith(sleepy_id))).state is JobState.CANCELLED
            ui.shot("08-cancelled")

            # Outage: the API goes away mid-job; the page says so, then catches up by itself.
            background = api.submit("sleepy", {"steps": 25, "step_seconds": 0.1})
            short = background.id[:8]
            poll(lambda: (ui.progress(short) or 0) > 0, 30, "the background job to start")
            ui_stack.stop_api()
            ui.text(re.compile(r"^Cannot reach the API")).wait_for(timeout=20_000)
            ui.shot("09-api-down")
            ui_stack.start_api()
            poll(lambda: page.get_by_text(re.compile(r"^Cannot reach the API")).count() == 0, 30, "the banner to go")
            poll(lambda: ui.progress(short) == 100, 30, "the job finished during the outage to show done")
            assert "Done" in ui.row_text(short)
            ui.shot("10-api-recovered")

            # The same page on a phone-width window, and in dark mode.
            page.set_viewport_size(PHONE)
            ui.shot("11-phone")
            page.set_viewport_size(LAPTOP)
            page.emulate_media(color_scheme="dark")
            ui.shot("12-dark")

        leaked = [frame for frame in ui.ws_frames if API_TOKEN in frame]
        assert not leaked, "the API token reached the browser"
