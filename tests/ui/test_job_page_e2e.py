"""The job page in headless Chromium: charts, samples, checkpoints, preview, its own URL.

A train run of 10,000 steps (charts drawn from downsampled series), a generate run with its
live preview, and a third-party test job type whose arbitrary metric names get charts with no
dashboard change. Screenshots go to test-artifacts/screenshots/job-page/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot_client import MySpinBotClient
from tests.conftest import require
from tests.support.processes import REPO_ROOT, LiveStack
from tests.ui.browser import LAPTOP, DashboardPage, chromium, chromium_available
from tests.ui.conftest import ADMIN, API_TOKEN
from tests.ui.test_dashboard_e2e import training_images

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROMPTS = [{"prompt": "a photo of a subject on a beach", "seed": 1}, {"prompt": "a subject in space", "seed": 2}]
# A Flet frame carrying a chart of every point of a 10,000-step series would be far larger.
MAX_FRAME_BYTES = 400_000


@pytest.fixture(scope="module")
def job_page_shots() -> Path:
    """Where this test leaves its screenshots (emptied of an earlier run's)."""
    folder = REPO_ROOT / "test-artifacts" / "screenshots" / "job-page"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture(scope="module")
def api(ui_stack: LiveStack) -> Iterator[MySpinBotClient]:
    with MySpinBotClient(ui_stack.api_url, API_TOKEN) as client:
        yield client


def identifier(ui: DashboardPage, name: str) -> str:
    return f'[flt-semantics-identifier="{name}"]'


def test_train_job_page(api: MySpinBotClient, dashboard: str, job_page_shots: Path, tmp_path: Path) -> None:
    """Open a train job from the list: its own URL (reloadable), a chart per metric from 10,000 steps,
    the sample grid (click to enlarge), checkpoints, and "train more from here" prefilling resume_from."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    params = {
        "base_model": "sdxl",
        "max_train_steps": 10_000,
        "save_every_n_steps": 2500,
        "save_last_n": 2,
        "sample_every_n_steps": 2500,
        "sample_prompts": PROMPTS,
        "lr_scheduler": "cosine",
        "lr_warmup_steps": 500,
    }
    job = api.submit("train", params, files=training_images(tmp_path / "dataset")[:3])
    api.wait(job.id, timeout=120)
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, color_scheme="light", accept_downloads=True)
        ui = DashboardPage(page, dashboard, job_page_shots)
        ui.open(ADMIN.name, ADMIN.password)
        with ui.screenshot_on_failure():
            ui.page.locator(identifier(ui, f"open-{job.id}")).click(timeout=30_000)
            page.wait_for_url(re.compile(f"/jobs/{job.id}$"), timeout=15_000)
            for name in ("loss", "loss_avg", "lr"):
                page.locator(identifier(ui, f"chart-{name}")).wait_for(timeout=20_000)
            ui.text(re.compile(r"10000 points · last")).wait_for(timeout=10_000)
            page.locator(identifier(ui, "sample-5000-2")).wait_for(timeout=10_000)
            assert page.locator('[flt-semantics-identifier^="sample-"]').count() == 8  # 4 steps × 2 prompts
            # save_last_n=2 of the checkpoints at 2500, 5000 and 7500:
            assert page.locator('[flt-semantics-identifier^="train-more-"]').count() == 2
            ui.shot("01-train-page-charts")
            ui.wheel(600, 600, 900)
            ui.shot("02-train-page-samples-checkpoints")
            assert max(len(frame) for frame in ui.ws_frames) < MAX_FRAME_BYTES

            page.locator(identifier(ui, "sample-10000-1")).click()
            page.locator(identifier(ui, "preview-image")).wait_for(timeout=10_000)
            ui.shot("03-sample-enlarged")
            page.get_by_role("button", name="Close").click()

            page.reload()
            page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
            page.eval_on_selector("flt-semantics-placeholder", "e => e.click()")
            page.locator(identifier(ui, "chart-loss")).wait_for(timeout=20_000)

            page.locator(identifier(ui, "train-more-7500")).click()
            page.wait_for_url(re.compile(r"/$"), timeout=15_000)
            ui.open_more_settings()
            resume = ui.field("Resume from")
            resume.wait_for(timeout=10_000)
            resume.focus()  # Flutter fills the DOM input of a text field once it has focus
            page.wait_for_timeout(300)
            ui.shot("04-train-more-prefilled")
            assert resume.input_value() == f"{job.id}/lora-007500.safetensors"


def test_generate_and_third_party_pages(api: MySpinBotClient, dashboard: str, job_page_shots: Path) -> None:
    """A running generate job's page shows its live preview; a third-party job type's arbitrary metrics get charts."""
    require(chromium_available(), "chromium is not installed (apt-get install chromium)")
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, color_scheme="light")
        # Logged in first, so the page opens as soon as the jobs are submitted (the preview is live).
        DashboardPage(page, dashboard, job_page_shots).log_in(ADMIN.name, ADMIN.password)
        generate = api.submit("generate", {"prompt": "a red fox in the snow", "num_inference_steps": 40})
        probe = api.submit("probe", {"steps": 2000, "progress_every": 200, "step_seconds": 0.2})
        ui = DashboardPage(page, f"{dashboard}/jobs/{generate.id}", job_page_shots)
        ui.open()
        with ui.screenshot_on_failure():
            page.locator(identifier(ui, "live-preview")).wait_for(timeout=30_000)
            page.get_by_label(re.compile(r"Live preview, version \d+")).first.wait_for(timeout=15_000)
            ui.shot("05-generate-live-preview")
            api.wait(generate.id, timeout=60)

            page.goto(f"{dashboard}/jobs/{probe.id}")
            page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=30_000)
            page.eval_on_selector("flt-semantics-placeholder", "e => e.click()")
            page.locator(identifier(ui, "chart-psnr_db")).wait_for(timeout=20_000)
            page.locator(identifier(ui, "chart-queue/items_per_s")).wait_for(timeout=10_000)
            api.wait(probe.id, timeout=60)
            ui.text(re.compile(r"2000 points · last")).first.wait_for(timeout=15_000)
            ui.shot("06-third-party-metrics")
