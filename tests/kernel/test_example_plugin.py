"""A third-party plugin, installed with plain pip, adds a job type with no kernel change."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import REPO_ROOT, LiveStack


@pytest.fixture(scope="module")
def stack_with_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """An API and a worker that see examples/upscale installed (non-editable) in a site dir."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(REPO_ROOT / "examples" / "upscale"),
        ],
        check=True,
        timeout=180,
    )
    assert list(site.glob("myspinbot_upscale-*.dist-info"))
    stack = LiveStack(tmp_path_factory.mktemp("example-stack"), extra_env={"PYTHONPATH": f"{site}:{REPO_ROOT}"}).start()
    yield stack
    stack.stop()


def test_example_plugin_job_type_runs_through_a_worker(stack_with_example: LiveStack) -> None:
    """The installed example shows in /api/job-types and /api/plugins, and its job runs to success."""
    with httpx.Client(base_url=stack_with_example.api_url, timeout=10) as api:
        types = {item["name"]: item for item in api.get("/api/job-types").json()}
        assert types["upscale"]["params_schema"]["properties"]["factor"]["maximum"] == 4
        plugins = {item["name"]: item for item in api.get("/api/plugins").json()}
        assert plugins["upscale"]["distribution"] == "myspinbot-upscale"
        assert api.post("/api/jobs/upscale", json={"factor": 9}).status_code == 422
        job = api.post("/api/jobs/upscale", json={"factor": 3}).json()
        deadline = time.monotonic() + 30
        while job["state"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
            time.sleep(0.05)
            job = api.get(f"/api/jobs/{job['id']}").json()
        assert job["state"] == "succeeded", job
        assert job["result"] == {"factor": 3}
        assert job["step"] == job["total"] == 3
        download = api.get(f"/api/jobs/{job['id']}/artifacts/out.txt")
        assert download.status_code == 200 and download.text == "done"
        assert Path(stack_with_example.data_dir, "jobs", job["id"], "artifacts", "out.txt").is_file()
