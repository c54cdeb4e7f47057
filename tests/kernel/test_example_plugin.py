"""A third-party plugin, installed with plain pip, adds a job type with no kernel change."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot_client import ApiError, MySpinBotClient
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


def test_example_plugin_job_type_runs_through_a_worker(stack_with_example: LiveStack, tmp_path: Path) -> None:
    """The installed example shows in /api/job-types and /api/plugins, and its job runs to success."""
    with MySpinBotClient(stack_with_example.api_url) as api:
        types = {job_type.name: job_type for job_type in api.job_types()}
        assert types["upscale"].params_schema["properties"]["factor"]["maximum"] == 4
        plugins = {plugin.name: plugin for plugin in api.plugins()}
        assert plugins["upscale"].distribution == "myspinbot-upscale"
        with pytest.raises(ApiError) as rejected:
            api.submit("upscale", {"factor": 9})
        assert rejected.value.status == 422
        job = api.wait(api.submit("upscale", {"factor": 3}).id, timeout=30)
        assert job.state == "succeeded", job
        assert job.result == {"factor": 3}
        assert job.step == job.total == 3
        (saved,) = api.download(job.id, tmp_path)
        assert saved.read_text() == "done"
        sharpness = api.metrics(job.id).get("sharpness")
        assert sharpness is not None and sharpness.steps == [1, 2, 3]
        assert [line.message for line in api.logs(job.id).lines] == ["upscaling by 3"]
        assert Path(stack_with_example.data_dir, "jobs", job.id, "artifacts", "out.txt").is_file()
