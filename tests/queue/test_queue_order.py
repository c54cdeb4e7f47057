"""Priority, position and pause through a real worker (one slot) on a real Redis."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from myspinbot.cli.procs import wait_until
from tests.queue.conftest import frames_until, open_ws
from tests.support.processes import LiveStack, ServiceProcess


def submit_sleepy(api: httpx.Client, priority: str = "normal", steps: int = 1, step_seconds: float = 0.0) -> str:
    """Submit a sleepy test job; its id."""
    response = api.post(
        "/api/jobs/sleepy", params={"priority": priority}, json={"steps": steps, "step_seconds": step_seconds}
    )
    assert response.status_code == 202, response.text
    assert response.json()["priority"] == priority
    return str(response.json()["id"])


def events_of(frames: list[dict[str, Any]], name: str, ids: set[str] | list[str]) -> list[str]:
    """Ids of the jobs in `ids` that had event `name`, in stream order."""
    return [f["job"]["id"] for f in frames if f.get("event") == name and f["job"]["id"] in ids]


def sleepy_queue(api: httpx.Client) -> dict[str, Any]:
    queue: dict[str, Any] = next(q for q in api.get("/api/queues").json() if q["name"] == "sleepy")
    return queue


def test_high_priority_starts_first_and_the_others_keep_their_order(queue_stack: LiveStack, api: httpx.Client) -> None:
    """Queue paused, 20 normal jobs then 1 high one: on resume the high one starts first, then the 20 in order."""
    assert api.post("/api/queues/sleepy/pause").json()["paused"] is True
    normals = [submit_sleepy(api) for _ in range(20)]
    high = submit_sleepy(api, "high")
    assert api.get(f"/api/jobs/{high}").json()["position"] == 1
    assert [api.get(f"/api/jobs/{job_id}").json()["position"] for job_id in normals[:3]] == [2, 3, 4]
    wanted = {high, *normals}
    with open_ws(queue_stack) as ws:
        api.post("/api/queues/sleepy/resume")
        frames = frames_until(ws, lambda fs: len(events_of(fs, "job.succeeded", wanted)) == 21, timeout=30)
    assert events_of(frames, "job.started", wanted) == [high, *normals]


def test_run_next_moves_a_queued_job_to_the_front_and_it_runs_once(queue_stack: LiveStack, api: httpx.Client) -> None:
    """Changing a queued job's priority with `front` makes it next; it still runs exactly once."""
    api.post("/api/queues/sleepy/pause")
    jobs = [submit_sleepy(api) for _ in range(4)]
    moved = api.post(f"/api/jobs/{jobs[-1]}/priority", json={"priority": "high", "front": True})
    assert moved.status_code == 200, moved.text
    assert moved.json()["priority"] == "high" and moved.json()["position"] == 1
    assert api.get(f"/api/jobs/{jobs[0]}").json()["position"] == 2
    assert sleepy_queue(api)["depth"] == 4  # moved, not copied
    with open_ws(queue_stack) as ws:
        api.post("/api/queues/sleepy/resume")
        frames = frames_until(ws, lambda fs: len(events_of(fs, "job.succeeded", jobs)) == 4, timeout=30)
    assert events_of(frames, "job.started", jobs) == [jobs[-1], *jobs[:-1]]
    assert all(api.get(f"/api/jobs/{job_id}").json()["attempts"] == 1 for job_id in jobs)
    again = api.post(f"/api/jobs/{jobs[0]}/priority", json={"priority": "low"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_queued"


def test_position_counts_down_on_the_websocket(queue_stack: LiveStack, api: httpx.Client) -> None:
    """A job third in line sees its position go 3 → 2 → 1 in queue frames as the jobs ahead start."""
    api.post("/api/queues/sleepy/pause")
    jobs = [submit_sleepy(api, steps=2, step_seconds=0.4) for _ in range(3)]
    last = jobs[-1]
    with open_ws(queue_stack, f"jobs={last}") as ws:

        def positions(frames: list[dict[str, Any]]) -> list[int]:
            seen = [job["position"] for f in frames if f["type"] == "queue" for job in f["jobs"] if job["id"] == last]
            return [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p]

        before = frames_until(ws, lambda fs: positions(fs) == [3], timeout=10)
        assert any(f["type"] == "queue" and f["paused"] for f in before)
        api.post("/api/queues/sleepy/resume")
        after = frames_until(ws, lambda fs: bool(events_of(fs, "job.started", [last])), timeout=30)
    assert positions(before + after) == [3, 2, 1]
    estimates = [job["starts_in_seconds"] for f in after if f["type"] == "queue" for job in f["jobs"]]
    # Once the first job has finished there is a duration to go by, so the last look has an estimate.
    assert all(estimate is None or estimate >= 0 for estimate in estimates) and estimates[-1] is not None


def test_paused_queue_starts_nothing_not_even_on_a_new_worker(
    queue_stack: LiveStack, api: httpx.Client, tmp_path: Path
) -> None:
    """While paused no job of the queue starts for 10 s, a worker started meanwhile takes nothing,
    and on resume every queued job runs exactly once."""
    api.post("/api/queues/sleepy/pause")
    ids = [submit_sleepy(api) for _ in range(10)]
    second = ServiceProcess("worker2", ["worker", "-c", "2", "--log-level", "warning"], queue_stack.env(), tmp_path)
    with open_ws(queue_stack) as ws:
        second.start()
        try:
            wait_until(lambda: len(api.get("/api/workers").json()) == 2, 60, what="the second worker's heartbeat")
            watched: list[dict[str, Any]] = []
            deadline = time.monotonic() + 10
            while (left := deadline - time.monotonic()) > 0:
                try:
                    watched.append(json.loads(ws.recv(timeout=left)))
                except TimeoutError:
                    break
            assert events_of(watched, "job.started", ids) == []
            queue = sleepy_queue(api)
            assert queue["paused"] and queue["depth"] == 10 and queue["running"] == 0
            assert sorted(w["concurrency"] for w in queue["workers"]) == [1, 2] and queue["concurrency"] == 3
            metrics = httpx.get(f"{queue_stack.api_url}/metrics").text
            assert 'myspinbot_queue_paused{queue="sleepy"} 1.0' in metrics
            assert 'myspinbot_queue_depth{queue="sleepy"} 10.0' in metrics
            api.post("/api/queues/sleepy/resume")
            frames = frames_until(ws, lambda fs: len(events_of(fs, "job.succeeded", ids)) == 10, timeout=60)
        finally:
            second.stop(grace=20)
    assert Counter(events_of(watched + frames, "job.started", ids)) == Counter(ids)
    assert sorted(events_of(watched + frames, "job.succeeded", ids)) == sorted(ids)
