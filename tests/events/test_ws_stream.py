"""/ws: every event of a job in order, only the subscribed jobs, and replay after a reconnect."""

from __future__ import annotations

import json

import redis
from fastapi.testclient import TestClient

from myspinbot import Settings
from tests.support.jobs import job_events, open_stream, wait_state
from tests.support.processes import ServiceProcess


def stream_key(event_id: str) -> tuple[int, int]:
    millis, seq = event_id.split("-")
    return int(millis), int(seq)


def test_client_receives_every_step_in_order_and_others_none(client: TestClient, worker: ServiceProcess) -> None:
    """A watcher gets queued, started, every progress step in order and succeeded; a client
    subscribed to another job gets none of them."""
    other = client.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    wait_state(client, other["id"])
    with client.websocket_connect("/ws") as watcher, client.websocket_connect(f"/ws?jobs={other['id']}") as bystander:
        open_stream(watcher)
        assert bystander.receive_json()["type"] == "hello"
        snapshot = bystander.receive_json()
        assert [job["id"] for job in snapshot["jobs"]] == [other["id"]]
        job = client.post("/api/jobs/sleepy", json={"steps": 6, "step_seconds": 0.01}).json()
        frames = job_events(watcher, job["id"])
        bystander.send_json({"op": "ping"})
        assert bystander.receive_json()["type"] == "pong"  # nothing of the watched job came before it
    assert [f["event"] for f in frames] == ["job.queued", "job.started", *["job.progress"] * 6, "job.succeeded"]
    assert [f["job"]["step"] for f in frames[2:8]] == [1, 2, 3, 4, 5, 6]
    assert all(f["job"]["total"] == 6 for f in frames[2:8])
    assert [stream_key(f["id"]) for f in frames] == sorted(stream_key(f["id"]) for f in frames)
    assert frames[-1]["job"]["progress"] == 1.0 and frames[-1]["job"]["eta_seconds"] == 0.0
    assert all(f["job"]["eta_seconds"] is not None for f in frames[3:8])


def test_reconnect_with_last_event_id_replays_exactly_what_was_missed(
    client: TestClient, worker: ServiceProcess, settings: Settings
) -> None:
    """After a disconnect mid-job, reconnecting with the last event id replays the missed events in
    order, then live ones, each exactly once."""
    with client.websocket_connect("/ws") as first:
        open_stream(first)
        job = client.post("/api/jobs/sleepy", json={"steps": 30, "step_seconds": 0.03}).json()
        seen = []
        while True:
            frame = first.receive_json()
            if frame["type"] == "event" and frame["job"]["id"] == job["id"]:
                seen.append(frame)
                if frame["job"]["step"] == 5:
                    break
    last_id = seen[-1]["id"]
    wait_state(client, job["id"], ("running",))
    with client.websocket_connect(f"/ws?jobs={job['id']}&last_event_id={last_id}") as second:
        assert second.receive_json()["type"] == "hello"
        rest = job_events(second, job["id"])
    steps = [f["job"]["step"] for f in rest if f["event"] == "job.progress"]
    assert steps == list(range(6, 31))
    assert rest[-1]["event"] == "job.succeeded"
    # Exactly the stream's events for this job after last_id: none missing, none repeated.
    store = redis.Redis.from_url(settings.redis_url, decode_responses=True, protocol=2)
    try:
        kept = [
            entry_id
            for entry_id, fields in store.xrange("myspinbot:events", min=f"({last_id}")
            if json.loads(fields["j"])["id"] == job["id"]
        ]
    finally:
        store.close()
    assert [f["id"] for f in rest] == kept


def test_trimmed_last_event_id_gets_an_error_frame_and_a_snapshot(client: TestClient) -> None:
    """An id older than the stream keeps is answered with events_trimmed and a fresh snapshot."""
    with client.websocket_connect("/ws?last_event_id=1-0") as ws:
        assert ws.receive_json()["type"] == "hello"
        frame = ws.receive_json()
        assert frame["type"] == "error" and frame["error"]["code"] == "events_trimmed"
        assert ws.receive_json()["type"] == "snapshot"


def test_bad_query_is_an_error_frame(client: TestClient) -> None:
    """A malformed subscription gets an error frame in the common shape, then a close."""
    with client.websocket_connect("/ws?jobs=../../etc") as ws:
        frame = ws.receive_json()
        assert frame["type"] == "error" and frame["error"]["status"] == 422
