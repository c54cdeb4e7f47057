"""Helpers of the reliability suite: private stacks, bounded HTTP clients, the figures record."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import redis

from tests.support.processes import REPO_ROOT, LiveStack

TOKEN = "reliability-suite-token-0123456789"
FINISHED = ("succeeded", "failed", "cancelled")
# Every request to a live process is bounded: a hang is a failure, never a stuck suite.
CLIENT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
FIGURES_PATH = REPO_ROOT / "test-artifacts" / "reliability" / "figures.json"
FAST_FAULTS = {
    "MYSPINBOT_MAINTENANCE_SECONDS": "0.5",
    "MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "0.5",
    "MYSPINBOT_STORE_RETRY_SECONDS": "30",
}


class Figures:
    """What the suite injected and what survived, for docs/reliability.md (written at session end)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.values[name] = int(self.values.get(name, 0)) + amount

    def set(self, name: str, value: Any) -> None:
        with self.lock:
            self.values[name] = value

    def job_outcomes(self, accepted: int, finished: int) -> None:
        """Jobs accepted (202) while a fault was injected, and how many of them reached a final state."""
        self.add("jobs.accepted_under_faults", accepted)
        self.add("jobs.reached_a_final_state", finished)

    def write(self) -> None:
        if not self.values:
            return
        if "jobs.accepted_under_faults" in self.values:
            self.values["jobs.lost"] = (
                self.values["jobs.accepted_under_faults"] - self.values["jobs.reached_a_final_state"]
            )
        FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
        FIGURES_PATH.write_text(json.dumps(dict(sorted(self.values.items())), indent=2) + "\n")


def api_client(base_url: str, token: str | None = TOKEN) -> httpx.Client:
    """An HTTP client for a live API with the suite's token and a bounded timeout."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=CLIENT_TIMEOUT)


@contextmanager
def running_stack(
    root: Path, env: dict[str, str] | None = None, *, worker: bool = True, concurrency: int = 2
) -> Iterator[LiveStack]:
    """A private Redis (AOF), an API and optionally a worker, all stopped by PID afterwards."""
    stack = LiveStack(root, concurrency=concurrency, extra_env={"MYSPINBOT_API_TOKEN": TOKEN, **(env or {})})
    try:
        stack.redis.start()
        if worker:
            stack.start_worker()
        stack.start_api()
        yield stack
    finally:
        stack.stop()


def wait_job(
    client: httpx.Client, job_id: str, states: tuple[str, ...] = FINISHED, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll a job over HTTP until it is in one of `states`; transient 503s are waited out."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            response = client.get(f"/api/jobs/{job_id}")
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            job = response.json()
            if job["state"] in states:
                return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} not in {states} after {timeout}s; last seen: {job}")


def job_events(stack: LiveStack, job_id: str) -> list[dict[str, Any]]:
    """Every event of one job still in the stream, oldest first."""
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True, protocol=2)
    try:
        entries = cast(list[tuple[str, dict[str, str]]], client.xrange("myspinbot:events"))
    finally:
        client.close()
    events = [{"id": entry_id, "event": fields["n"], "job": json.loads(fields["j"])} for entry_id, fields in entries]
    return [event for event in events if event["job"]["id"] == job_id]


def pool_children(pid: int) -> list[int]:
    """Child PIDs of a process (a prefork worker's pool), from /proc."""
    children: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir() if task_dir.is_dir() else []:
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
