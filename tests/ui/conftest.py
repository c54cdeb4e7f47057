"""Fixtures of the dashboard's tests: a stack of its own (auth on), its users, and the dashboard process.

Modules that need another stack (one worker slot, webhooks to loopback) override `ui_stack` with
`live_ui_stack(...)`, and their screenshots with `fresh_screenshots(prefix)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from myspinbot.cli.procs import free_port, http_ok, wait_until
from myspinbot.cli.redis_server import RedisNotFound
from myspinbot_client import Job, MySpinBotClient
from tests.conftest import require
from tests.support.processes import REPO_ROOT, LiveStack, ServiceProcess

# The bootstrap admin key of the API; only tests (and never the dashboard of a logged-in user) use it.
API_TOKEN = "ui-test-token-0f9b2c1d7e"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
# Small pages, so the browser test sees "Load older jobs" with a handful of jobs.
PAGE_SIZE = 3
PASSWORD = "dashboard test passphrase"


@dataclass(frozen=True)
class Account:
    """A user of the test stack who logs in to the dashboard with a password."""

    name: str
    role: str
    password: str = PASSWORD


# An admin who sees every job (the existing walkthroughs submit through the bootstrap key), two members.
ADMIN = Account("ada", "admin")
ALICE = Account("alice", "member")
BOB = Account("bob", "member")


def live_ui_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, concurrency: int = 2, **env: str
) -> Iterator[LiveStack]:
    """Redis, API (auth on: bootstrap token set) and worker, with ADMIN, ALICE and BOB as users."""
    stack = LiveStack(
        tmp_path_factory.mktemp(name),
        concurrency=concurrency,
        extra_env={"MYSPINBOT_MOCK_STEP_SECONDS": "0.1", "MYSPINBOT_API_TOKEN": API_TOKEN, **env},
    )
    try:
        stack.start()
    except RedisNotFound as error:
        require(False, str(error))
    try:
        with MySpinBotClient(stack.api_url, API_TOKEN) as bootstrap:
            for account in (ADMIN, ALICE, BOB):
                bootstrap.add_user(account.name, account.role, account.password)
        yield stack
    finally:
        stack.stop()


def job_of(stack: LiveStack, account: Account, note: str) -> Job:
    """A finished generate job submitted by `account` with its own session key."""
    with MySpinBotClient(stack.api_url, anonymous=True) as anonymous:
        key = anonymous.login(account.name, account.password, "test submit").key
    with MySpinBotClient(stack.api_url, key) as api:
        job = api.submit(
            "generate", {"prompt": note, "num_frames": 5, "width": 128, "height": 128, "num_inference_steps": 2}
        )
        done = api.wait(job.id, timeout=60)
        api.logout()
    assert done.state.value == "succeeded", done.error
    return done


def fresh_screenshots(prefix: str = "") -> Path:
    """The screenshots folder, with an earlier run's `<prefix>*.png` removed (all of them, and the
    failure notes, for no prefix; a module's own prefix leaves other modules' failures alone)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    notes = [] if prefix else list(SCREENSHOTS.glob("failure.txt"))
    for old in [*SCREENSHOTS.glob(f"{prefix}*.png"), *notes]:
        old.unlink()
    return SCREENSHOTS


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The dashboard tests' stack: 0.1 s mock steps, so a running job can be watched and cancelled."""
    yield from live_ui_stack(tmp_path_factory, "ui-stack")


@dataclass(frozen=True)
class RunningDashboard:
    """The dashboard process of a module and where it listens."""

    url: str
    process: ServiceProcess


@pytest.fixture(scope="module")
def dashboard_process(ui_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDashboard]:
    """`myspinbot ui` on a free port, talking to `ui_stack`, with uvicorn's access log on."""
    port = free_port()
    env = {
        **ui_stack.env(),
        "MYSPINBOT_UI_UPLOAD_DIR": str(tmp_path_factory.mktemp("ui-uploads")),
        "MYSPINBOT_UI_PAGE_SIZE": str(PAGE_SIZE),
    }
    process = ServiceProcess("ui", ["ui", "--port", str(port), "--log-level", "info"], env, ui_stack.root / "logs")
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), 30, what="the dashboard")
    except TimeoutError:
        pytest.fail(f"the dashboard did not start:\n{process.log_tail()}")
    yield RunningDashboard(url, process)
    process.stop(grace=10)
    if os.environ.get("MYSPINBOT_UI_TEST_LOG"):
        print(process.log_tail(200))


@pytest.fixture(scope="module")
def dashboard(dashboard_process: RunningDashboard) -> str:
    """The dashboard's URL."""
    return dashboard_process.url


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """Where the browser tests leave their screenshots for people to look at (emptied of an earlier run's)."""
    return fresh_screenshots()
