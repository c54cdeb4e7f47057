"""Real processes for tests: an API, a Celery worker and a whole stack, stopped by PID."""

from __future__ import annotations

import atexit
import os
import sys
import time
from pathlib import Path

from myspinbot.cli.procs import free_port, http_ok, wait_until
from myspinbot.cli.redis_server import RedisProcess
from tests.support.supervisor import LoggedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_PLUGINS = "tests.support.jobtypes"


def service_env(redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a service under test: our Redis, our data dir, the test job types."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYSPINBOT_")}
    env.update(
        {
            "MYSPINBOT_REDIS_URL": redis_url,
            "MYSPINBOT_DATA_DIR": str(data_dir),
            "MYSPINBOT_MOCK_STEP_SECONDS": "0.02",
            "MYSPINBOT_EXTRA_PLUGINS": TEST_PLUGINS,
            "MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "0.5",
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class ServiceProcess(LoggedProcess):
    """One `myspinbot <command>` process with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        argv = [sys.executable, "-m", "myspinbot.cli", "--env-file", "/dev/null", *args]
        super().__init__(argv, env, log_dir / f"{name}.log", cwd=REPO_ROOT)
        self.name = name
        self.args = args
        atexit.register(self.stop)

    def start(self) -> ServiceProcess:
        super().start()
        return self


def worker_online(redis_url: str) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url, protocol=2)
    try:
        return bool(client.zcount("myspinbot:workers", time.time(), "+inf"))
    finally:
        client.close()


def start_worker(redis_url: str, env: dict[str, str], log_dir: Path, concurrency: int = 2) -> ServiceProcess:
    """A real Celery worker process, returned once its heartbeat is in Redis; RuntimeError with
    the tail of its log (and the process stopped) when it does not come up within a minute."""
    process = ServiceProcess(
        "worker", ["worker", "-c", str(concurrency), "--log-level", "warning"], env, log_dir
    ).start()
    try:
        wait_until(lambda: worker_online(redis_url), 60, what="the worker's heartbeat")
    except TimeoutError:
        process.stop()
        raise RuntimeError(f"worker did not start:\n{process.log_tail()}") from None
    return process


class LiveStack:
    """A private Redis, an API process and a worker process, like `myspinbot dev` without the UI."""

    def __init__(self, root: Path, *, concurrency: int = 2, extra_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.redis = RedisProcess(root / "redis", persist=True)
        self.api_port = free_port()
        self.extra_env = extra_env or {}
        self.concurrency = concurrency
        self.api: ServiceProcess | None = None
        self.worker: ServiceProcess | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def env(self) -> dict[str, str]:
        return service_env(self.redis_url, self.data_dir, MYSPINBOT_API_URL=self.api_url, **self.extra_env)

    def start(self) -> LiveStack:
        self.redis.start()
        atexit.register(self.redis.stop)
        self.start_worker()
        self.start_api()
        return self

    def start_api(self) -> None:
        self.api = ServiceProcess(
            "api",
            ["api", "--port", str(self.api_port), "--no-access-log", "--log-level", "warning"],
            self.env(),
            self.root / "logs",
        ).start()
        try:
            wait_until(lambda: http_ok(f"{self.api_url}/health"), 30, what="the API's /health")
        except TimeoutError:
            raise RuntimeError(f"API did not start:\n{self.api.log_tail()}") from None

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.stop()

    def restart_api(self) -> None:
        """Stop the API process and start a new one on the same port."""
        self.stop_api()
        self.start_api()

    def start_worker(self) -> None:
        self.worker = start_worker(self.redis_url, self.env(), self.root / "logs", self.concurrency)

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
        if self.worker is not None:
            self.worker.stop(grace=20)
        self.redis.stop()
