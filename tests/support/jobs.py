"""Helpers for tests that run jobs: waiting, collecting events, making images."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from typing import Any

import httpx
from starlette.testclient import WebSocketTestSession

from myspinbot import EventName, JobEvent, Settings
from myspinbot.core.kernel import Kernel
from myspinbot.core.lifecycle import new_job

FINISHED = ("succeeded", "failed", "cancelled")


def store_queued_jobs(settings: Settings, count: int = 1, owner: str = "") -> list[str]:
    """`count` queued `sleepy` records of `owner` written straight to the store, with no message on
    any queue (no worker takes them): their ids, oldest first."""
    jobs = [new_job(uuid.uuid4().hex, "sleepy", {"steps": 1}, [], owner=owner) for _ in range(count)]

    async def create() -> None:
        store = Kernel(settings).new_store()
        try:
            for job in jobs:
                await store.create(job, JobEvent(event=EventName.QUEUED, job=job))
        finally:
            await store.close()

    asyncio.run(create())
    return [job.id for job in jobs]


def wait_state(
    client: httpx.Client, job_id: str, states: tuple[str, ...] = FINISHED, timeout: float = 30
) -> dict[str, Any]:
    """Poll the job (in-process TestClient or a live API) until it is in one of `states`."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job.get("state") in states:
            return job
        time.sleep(0.02)
    raise TimeoutError(f"job {job_id} not in {states} after {timeout}s: {job}")


def submit_and_wait(http: httpx.Client, path: str, params: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """Submit a job with JSON parameters (asserting the 202) and poll it to its end; the finished job."""
    response = http.post(path, json=params)
    assert response.status_code == 202, response.text
    return wait_state(http, response.json()["id"], timeout=timeout)


def job_events(ws: WebSocketTestSession, job_id: str, limit: int = 10_000) -> list[dict[str, Any]]:
    """Event frames of one job, read until its finishing event."""
    frames = []
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == "event" and frame["job"]["id"] == job_id:
            frames.append(frame)
            if frame["job"]["state"] in FINISHED:
                return frames
    raise AssertionError(f"no finishing event for {job_id} in {limit} frames")


def open_stream(ws: WebSocketTestSession) -> dict[str, Any]:
    """Read the hello and the snapshot that follow a connect without last_event_id."""
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert ws.receive_json()["type"] == "snapshot"
    return hello


def png_bytes(width: int = 32, height: int = 32, color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real PNG image."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()
