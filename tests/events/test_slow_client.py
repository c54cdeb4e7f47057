"""A client that never reads is dropped; 50 others get every event promptly meanwhile."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.support.processes import LiveStack

CLIENTS = 50
STEPS = 2000
NOTE = "x" * 4000  # ~4.7 KB frames: the stuck client must outgrow the kernel's 4 MiB socket buffers
SLOW_CLOSE = (4008).to_bytes(2, "big") + b"too slow"


@pytest.fixture(scope="module")
def small_outbox_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A live stack whose WS outboxes hold 64 frames, so a stuck client overflows quickly."""
    stack = LiveStack(tmp_path_factory.mktemp("slow-client"), extra_env={"MYSPINBOT_WS_OUTBOX_SIZE": "64"}).start()
    yield stack
    stack.stop()


def stuck_client(port: int) -> socket.socket:
    """A WebSocket handshake over a raw socket with a tiny receive buffer, then never reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


async def watch_all(
    url: str, job_id_box: dict[str, str], received: list[list[int]], done_at: list[float], index: int
) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] != "event" or frame["job"]["id"] != job_id_box.get("id"):
                continue
            received[index].append(frame["job"]["step"] if frame["event"] == "job.progress" else -1)
            if frame["event"] == "job.succeeded":
                done_at[index] = time.monotonic()
                return


async def test_stuck_client_is_dropped_and_others_keep_up(small_outbox_stack: LiveStack) -> None:
    """With one client that never reads, 50 clients get all 2,000+ events of a job, none is late
    by more than a second behind the first, and the stuck one is closed with code 4008."""
    stack = small_outbox_stack
    port = stack.api_port
    stuck = stuck_client(port)
    job_box: dict[str, str] = {}
    received: list[list[int]] = [[] for _ in range(CLIENTS)]
    done_at = [0.0] * CLIENTS
    url = f"ws://127.0.0.1:{port}/ws"
    watchers = [asyncio.create_task(watch_all(url, job_box, received, done_at, i)) for i in range(CLIENTS)]
    await asyncio.sleep(1.0)  # all connected and past their snapshot
    async with httpx.AsyncClient(base_url=stack.api_url) as api:
        response = await api.post("/api/jobs/sleepy", json={"steps": STEPS, "step_seconds": 0, "note": NOTE})
        job_box["id"] = response.json()["id"]
        await asyncio.wait_for(asyncio.gather(*watchers), timeout=120)
        metrics = (await api.get("/metrics")).text
    for steps in received:
        progress = [step for step in steps if step != -1]
        assert progress == list(range(1, STEPS + 1))  # every step, in order, once
    assert max(done_at) - min(done_at) < 1.0
    stuck.settimeout(5)
    data = b""
    try:
        while chunk := stuck.recv(1 << 20):
            data += chunk
    except TimeoutError:
        pass
    finally:
        stuck.close()
    assert SLOW_CLOSE in data, (
        f"not closed with 4008 ({len(data)} bytes, {data.count(b'job.progress')} progress frames)"
    )
    assert "myspinbot_ws_clients" in metrics
