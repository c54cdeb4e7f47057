"""The processes a run needs: a private Redis, our API and worker, and the baselines.

Every process is our child, in its own session, stopped by its PID (never by name).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from myspinbot.cli.procs import free_port, http_ok, wait_until
from myspinbot.cli.redis_server import RedisProcess
from tests.support.supervisor import LoggedProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_PLUGINS = "bench.jobtypes"
OUR_QUEUES = "noop,events,metrics"


class Child(LoggedProcess):
    """One child Python process of the run, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        super().__init__([sys.executable, *args], env, log_dir / f"{name}.log", cwd=REPO_ROOT)
        self.name = name
        self.args = args

    def start(self) -> Child:
        super().start()
        return self


class BenchStack:
    """Starts and stops the run's processes; each is started only when a case needs it."""

    def __init__(self, root: Path, *, outbox_size: int = 1000) -> None:
        self.root = root
        self.logs = root / "logs"
        self.redis_server = RedisProcess(root / "redis")
        self.outbox_size = outbox_size
        self.api: Child | None = None
        self.api_port = 0
        self.bare_http: Child | None = None
        self.bare_http_port = 0
        self.worker: Child | None = None
        self.bare_workers: dict[str, Child] = {}
        self.children: list[Child] = []

    @property
    def redis_url(self) -> str:
        return self.redis_server.url

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("MYSPINBOT_", "BENCH_"))}
        env.update(
            {
                "MYSPINBOT_REDIS_URL": self.redis_url,
                "MYSPINBOT_DATA_DIR": str(self.root / "data"),
                "MYSPINBOT_EXTRA_PLUGINS": BENCH_PLUGINS,
                "MYSPINBOT_WS_OUTBOX_SIZE": str(self.outbox_size),
                "MYSPINBOT_LOG_LEVEL": "WARNING",
                "BENCH_REDIS_URL": self.redis_url,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, protocol=2)

    def start_redis(self) -> None:
        self.redis_server.start()

    def _child(self, name: str, args: list[str], **env: str) -> Child:
        child = Child(name, args, self.env(**env), self.logs).start()
        self.children.append(child)
        return child

    def start_api(self, env: dict[str, str] | None = None) -> None:
        """Our API on a free port; `env` adds settings (the filtered fan-out turns authentication on)."""
        self.api_port = free_port()
        args = ["-m", "myspinbot.cli", "--env-file", "/dev/null", "api", "--port", str(self.api_port)]
        self.api = self._child("api", [*args, "--no-access-log", "--log-level", "warning"], **(env or {}))
        self._wait_http(self.api, self.api_port)

    def restart_api(self, *, flush: bool = False, env: dict[str, str] | None = None) -> None:
        """A fresh API process (with `env` added to its settings); with `flush`, on an emptied Redis."""
        self.stop_child(self.api)
        if flush:
            with self.redis() as client:
                client.flushdb()
        self.start_api(env)

    def start_bare_http(self) -> None:
        self.bare_http_port = free_port()
        args = ["-m", "uvicorn", "--factory", "bench.bare:health_app", "--port", str(self.bare_http_port)]
        self.bare_http = self._child("bare-http", [*args, "--no-access-log", "--log-level", "warning"])
        self._wait_http(self.bare_http, self.bare_http_port)

    def _wait_http(self, child: Child, port: int) -> None:
        try:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), 30, f"{child.name}'s /health")
        except TimeoutError:
            raise RuntimeError(f"{child.name} did not start:\n{child.log_tail()}") from None

    def start_worker(self, concurrency: int = 2, pool: str = "prefork") -> Child:
        """`myspinbot worker -c N -P prefork` on the benchmark's queues (returns at once)."""
        args = ["-m", "myspinbot.cli", "--env-file", "/dev/null", "worker", "-Q", OUR_QUEUES]
        self.worker = self._child("worker", [*args, "-c", str(concurrency), "-P", pool, "--log-level", "warning"])
        return self.worker

    def stop_worker(self) -> None:
        """Stop our worker (a case that needs another pool starts its own)."""
        self.stop_child(self.worker)
        self.worker = None

    def ensure_worker(self) -> None:
        """Our worker, started if need be, once its heartbeat is in Redis."""
        if self.worker is None:
            self.start_worker()
        worker = self.worker
        assert worker is not None

        def online() -> bool:
            with self.redis() as client:
                return bool(client.zcount("myspinbot:workers", time.time(), "+inf"))

        try:
            wait_until(online, 60, "our worker's heartbeat")
        except TimeoutError:
            raise RuntimeError(f"the worker did not start:\n{worker.log_tail()}") from None

    def start_bare_worker(self, queue: str, concurrency: int = 2, *, acks_late: bool = False) -> Child:
        """A bare Celery worker on the no-op tasks (Celery's defaults, or our reliability settings)."""
        args = ["-m", "celery", "-A", "bench.bare:celery_app", "worker", "-Q", queue, "-c", str(concurrency)]
        child = self._child(
            f"bare-worker-{queue}",
            [*args, "-P", "prefork", "--loglevel", "WARNING", "-n", f"bare-{queue}@%h"],
            BENCH_ACKS_LATE="1" if acks_late else "0",
        )
        self.bare_workers[queue] = child
        return child

    def stop_child(self, child: Child | None) -> None:
        if child is None:
            return
        child.stop(grace=20)
        if child in self.children:
            self.children.remove(child)
        self.bare_workers = {queue: other for queue, other in self.bare_workers.items() if other is not child}
        if child is self.bare_http:
            self.bare_http = None

    async def stop_side_by_side(self, *children: Child | None) -> None:
        """Stop these children's processes at once, each on a thread (a Celery prefork worker takes
        ~2.5 s to shut down), then forget them here, on the caller's thread."""
        present = [child for child in children if child is not None]
        await asyncio.gather(*(asyncio.to_thread(child.stop, 20) for child in present))
        for child in present:
            self.stop_child(child)
            if child is self.worker:
                self.worker = None

    def stop(self) -> None:
        # Side by side: a Celery prefork worker alone takes ~2.5 s to shut down.
        with ThreadPoolExecutor(max_workers=max(1, len(self.children))) as pool:
            list(pool.map(lambda child: child.stop(grace=20), self.children))
        self.children.clear()
        self.redis_server.stop()
