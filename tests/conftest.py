"""Shared fixtures: a private Redis, a real Celery worker, the app, and a live stack."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from myspinbot.api.app import create_app
from myspinbot.cli.redis_server import RedisNotFound, RedisProcess
from myspinbot.core.settings import Settings
from tests.support.processes import TEST_PLUGINS, LiveStack, ServiceProcess, service_env, start_worker

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop without a tool; in CI a missing tool is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A redis-server of our own on a free port (the system binary, else the embedded one)."""
    try:
        server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    except RedisNotFound as error:
        require(False, str(error))
        raise
    atexit.register(server.stop)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisProcess) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def settings(redis_url: str, data_dir: Path) -> Settings:
    """Settings for an in-process app sharing the session Redis and data dir with the worker."""
    return Settings(
        redis_url=redis_url,
        data_dir=data_dir,
        mock_step_seconds=0.02,
        extra_plugins=[TEST_PLUGINS],
        worker_heartbeat_seconds=0.5,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
def worker(redis_url: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A real Celery worker process (2 pool processes) on the session Redis."""
    process = start_worker(redis_url, service_env(redis_url, data_dir), tmp_path_factory.mktemp("worker-logs"))
    yield process
    process.stop(grace=20)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The API built by the factory, served in-process (lifespan included) on the session Redis."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A private Redis, an API process and a worker process, for tests across process boundaries."""
    stack = LiveStack(tmp_path_factory.mktemp("stack")).start()
    yield stack
    stack.stop()
