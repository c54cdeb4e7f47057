"""A script needs only `pip install ./client`: a fresh venv submits, watches and downloads against a live stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from myspinbot_client import MySpinBotClient
from tests.support.processes import REPO_ROOT, LiveStack

SERVER_SIDE = {"fastapi", "celery", "redis", "uvicorn", "starlette", "kombu", "myspinbot"}

# Run by the fresh venv's python: submit a tiny generation, watch it to the end, download what it made.
SCRIPT = """
import json, sys
from pathlib import Path
from myspinbot_client import MySpinBotClient
from myspinbot_client.display import PlainLinesView, choose_view

api_url, out = sys.argv[1], Path(sys.argv[2])
params = {"prompt": "a fox", "num_frames": 5, "width": 128, "height": 128, "num_inference_steps": 2}
with MySpinBotClient(api_url) as api:
    job = api.submit("generate", params)
    events = [(event.event, event.job.state.value) for event in api.watch(job.id, timeout=120)]
    saved = api.download(job.id, out)
print(json.dumps({
    "job": job.id,
    "events": events,
    "saved": {path.name: path.stat().st_size for path in saved},
    "terminal_view": type(choose_view(False, True)).__name__,
}))
"""


def pip_cache() -> dict[str, str]:
    """The environment for pip: the user's cache kept (so a rerun downloads nothing), no MYSPINBOT_ settings."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("MYSPINBOT_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with nothing but `pip install ./client` in it; its python."""
    root = tmp_path_factory.mktemp("client-venv")
    # A copy of ./client, so pip's in-tree build leaves nothing behind in the repository.
    source = shutil.copytree(
        REPO_ROOT / "client", root / "client", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        env=pip_cache(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return python


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_client_runs_a_job_end_to_end(
    client_venv: Path, live_stack: LiveStack, tmp_path: Path
) -> None:
    """With only the client installed, a script submits a job, watches it to the end and downloads its artifacts."""
    listed = subprocess.run(
        [str(client_venv), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    installed = {item["name"].lower() for item in json.loads(listed.stdout)}
    assert "myspinbot-client" in installed
    assert installed & SERVER_SIDE == set(), f"the client pulled in {sorted(installed & SERVER_SIDE)}"
    assert "rich" not in installed  # an extra: the job commands fall back to plain lines

    out = tmp_path / "artifacts"
    run = subprocess.run(
        [str(client_venv), "-c", SCRIPT, live_stack.api_url, str(out)],
        env=pip_cache(),
        cwd=tmp_path,  # away from the repository, so nothing of it is importable
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["events"][-1] == ["job.succeeded", "succeeded"]
    assert report["terminal_view"] == "PlainLinesView"
    with MySpinBotClient(live_stack.api_url) as api:
        artifacts = {item.name: item.size for item in api.artifacts(report["job"])}
    assert artifacts and report["saved"] == artifacts
    assert sorted(path.name for path in out.iterdir()) == sorted(artifacts)

    # The job commands work there too, without rich: plain lines up to the finished state.
    watched = subprocess.run(
        [str(client_venv.parent / "myspinbot-client"), "watch", report["job"], "--api-url", live_stack.api_url],
        env=pip_cache(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert watched.returncode == 0, watched.stderr
    assert f"{report['job']} generate succeeded" in watched.stdout
