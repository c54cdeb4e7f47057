"""A worker and an API of their own for the telemetry tests: their own Redis database, slower mock
steps (so a WebSocket is subscribed before the first sample), and a short state event stream (so
telemetry that leaked into it would trim state events a replay needs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from myspinbot.api.app import create_app
from myspinbot.cli.redis_server import RedisProcess
from myspinbot.core.settings import Settings
from tests.support.processes import TEST_PLUGINS, ServiceProcess, service_env, start_worker

STEP_SECONDS = "0.1"
EVENTS_MAX_LEN = "500"
TELEMETRY_DB = 5


@pytest.fixture(scope="package")
def telemetry_redis_url(redis_server: RedisProcess) -> str:
    """The session Redis, another database: these tests' jobs and queues are theirs alone."""
    base, _, _ = redis_server.url.rpartition("/")
    return f"{base}/{TELEMETRY_DB}"


@pytest.fixture(scope="package")
def telemetry_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("telemetry-data")


@pytest.fixture(scope="package")
def telemetry_worker(
    telemetry_redis_url: str, telemetry_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A real Celery worker (2 pool processes) with 0.1 s mock steps."""
    env = service_env(
        telemetry_redis_url,
        telemetry_data_dir,
        MYSPINBOT_MOCK_STEP_SECONDS=STEP_SECONDS,
        MYSPINBOT_EVENTS_MAX_LEN=EVENTS_MAX_LEN,
    )
    process = start_worker(telemetry_redis_url, env, tmp_path_factory.mktemp("telemetry-logs"))
    yield process
    process.stop(grace=20)


@pytest.fixture
def api(telemetry_redis_url: str, telemetry_data_dir: Path, telemetry_worker: ServiceProcess) -> Iterator[TestClient]:
    """The API in-process on the telemetry database, with its worker running."""
    settings = Settings(
        redis_url=telemetry_redis_url,
        data_dir=telemetry_data_dir,
        mock_step_seconds=float(STEP_SECONDS),
        extra_plugins=[TEST_PLUGINS],
        events_max_len=int(EVENTS_MAX_LEN),
        worker_heartbeat_seconds=0.5,
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(settings)) as client:
        yield client
