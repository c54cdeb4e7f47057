"""Fixtures of the dashboard's tests: a stack of its own (with an API token) and the dashboard process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot.cli.procs import free_port, http_ok, wait_until
from myspinbot.cli.redis_server import RedisNotFound
from tests.conftest import require
from tests.support.processes import REPO_ROOT, LiveStack, ServiceProcess

# The token the API demands; the dashboard holds it and the browser must never see it.
API_TOKEN = "ui-test-token-0f9b2c1d7e"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
# Small pages, so the browser test sees "Load older jobs" with a handful of jobs.
PAGE_SIZE = 3


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Redis, API and worker with a token and 0.1 s mock steps, so a running job can be watched and cancelled."""
    stack = LiveStack(
        tmp_path_factory.mktemp("ui-stack"),
        extra_env={"MYSPINBOT_MOCK_STEP_SECONDS": "0.1", "MYSPINBOT_API_TOKEN": API_TOKEN},
    )
    try:
        stack.start()
    except RedisNotFound as error:
        require(False, str(error))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def dashboard(ui_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`myspinbot ui` on a free port, talking to `ui_stack`; yields its URL."""
    port = free_port()
    env = {
        **ui_stack.env(),
        "MYSPINBOT_UI_UPLOAD_DIR": str(tmp_path_factory.mktemp("ui-uploads")),
        "MYSPINBOT_UI_PAGE_SIZE": str(PAGE_SIZE),
    }
    process = ServiceProcess("ui", ["ui", "--port", str(port), "--log-level", "warning"], env, ui_stack.root / "logs")
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), 30, what="the dashboard")
    except TimeoutError:
        pytest.fail(f"the dashboard did not start:\n{process.log_tail()}")
    yield url
    process.stop(grace=10)
    if os.environ.get("MYSPINBOT_UI_TEST_LOG"):
        print(process.log_tail(200))


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """Where the browser test leaves its screenshots for people to look at (emptied of an earlier run's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SCREENSHOTS.glob("*.png"), *SCREENSHOTS.glob("failure.txt")]:
        old.unlink()
    return SCREENSHOTS
