"""The API reads the event and telemetry streams only while a client listens, and an idle spell
loses nothing: a client that comes back with its last event id replays the spell exactly, and the
gateway follows live events again at once."""

from __future__ import annotations

import time
from typing import Any

import redis
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from myspinbot import Settings
from myspinbot.api.gateway import READ_BLOCK_MS, EventGateway
from tests.support.jobs import job_events, open_stream, wait_state
from tests.support.processes import ServiceProcess


def xread_calls(store: redis.Redis) -> int:
    """XREADs Redis has answered so far (only the gateway and the telemetry relay send them)."""
    stats: dict[str, dict[str, Any]] = store.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


def wait_idle(gateway: EventGateway, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while gateway.ready.is_set():
        assert time.monotonic() < deadline, "the gateway kept following with no client"
        time.sleep(0.02)
    # A blocked read sent before the last client left ends within READ_BLOCK_MS (and is counted then).
    time.sleep(READ_BLOCK_MS / 1000 + 0.3)


def frames_until_pong(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    """Every frame sent before the answer to a ping (replay is sent before live frames and pongs)."""
    ws.send_json({"op": "ping"})
    frames = []
    while (frame := ws.receive_json())["type"] != "pong":
        frames.append(frame)
    return frames


def submit(client: TestClient, steps: int) -> str:
    response = client.post("/api/jobs/sleepy", json={"steps": steps, "step_seconds": 0})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_no_stream_read_without_a_client_and_a_reconnect_replays_the_idle_spell(
    client: TestClient, worker: ServiceProcess, settings: Settings
) -> None:
    gateway: EventGateway = client.app.state.gateway  # type: ignore[attr-defined]
    store = redis.Redis.from_url(settings.redis_url, decode_responses=True, protocol=2)
    try:
        with client.websocket_connect("/ws") as first:
            open_stream(first)
            last_id = job_events(first, submit(client, 1))[-1]["id"]
        wait_idle(gateway)

        reads_before = xread_calls(store)
        spell = [submit(client, 3) for _ in range(3)]
        for job_id in spell:
            wait_state(client, job_id)
        time.sleep(READ_BLOCK_MS / 1000 + 0.3)
        assert xread_calls(store) == reads_before, "a stream was read while no client was connected"

        kept = [entry_id for entry_id, _ in store.xrange("myspinbot:events", min=f"({last_id}")]
        with client.websocket_connect(f"/ws?last_event_id={last_id}") as second:
            hello = second.receive_json()
            assert hello["type"] == "hello" and hello["last_event_id"] == kept[-1]
            replayed = frames_until_pong(second)
            assert [frame["id"] for frame in replayed] == kept  # none missing, none repeated
            # The worker and Redis are the session's: a job an earlier test left queued may have
            # run during the spell too, so the spell's jobs are among the replayed, not all of them.
            assert set(spell) <= {frame["job"]["id"] for frame in replayed}

            live = submit(client, 2)
            events = [frame["event"] for frame in job_events(second, live)]
        assert events == ["job.queued", "job.started", "job.progress", "job.progress", "job.succeeded"]
    finally:
        store.close()
