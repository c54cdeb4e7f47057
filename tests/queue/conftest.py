"""A stack of our own for queue control: one worker slot, so start order is observable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.processes import TEST_PLUGINS, LiveStack


@pytest.fixture(scope="module")
def queue_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A private Redis, an API and a worker with concurrency 1; a lost worker's job fails at once
    (one attempt) and is found within a second; a test plugin records finished batches."""
    env = {
        "MYSPINBOT_EXTRA_PLUGINS": f"{TEST_PLUGINS},tests.support.batch_observer",
        "MYSPINBOT_MAX_ATTEMPTS": "1",
        "MYSPINBOT_MAINTENANCE_SECONDS": "1",
        "MYSPINBOT_MOCK_STEP_SECONDS": "0.1",
    }
    stack = LiveStack(tmp_path_factory.mktemp("queue-stack"), concurrency=1, extra_env=env).start()
    yield stack
    stack.stop()


@pytest.fixture
def api(queue_stack: LiveStack) -> Iterator[httpx.Client]:
    """An HTTP client on the stack; every queue is resumed afterwards, whatever the test did."""
    with httpx.Client(base_url=queue_stack.api_url, timeout=30) as client:
        yield client
        for queue in client.get("/api/queues").json():
            if queue["paused"]:
                client.post(f"/api/queues/{queue['name']}/resume")


def ws_url(stack: LiveStack, query: str = "") -> str:
    return stack.api_url.replace("http://", "ws://") + "/ws" + (f"?{query}" if query else "")


def frames_until(ws: ClientConnection, done: Any, timeout: float) -> list[dict[str, Any]]:
    """Frames read until `done(frames)` is true; TimeoutError after `timeout` seconds of silence."""
    frames: list[dict[str, Any]] = []
    while not done(frames):
        frames.append(json.loads(ws.recv(timeout=timeout)))
    return frames


def open_ws(stack: LiveStack, query: str = "") -> ClientConnection:
    """A /ws connection past its hello and snapshot."""
    ws = connect(ws_url(stack, query), open_timeout=10, legacy=True)
    assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
    return ws
