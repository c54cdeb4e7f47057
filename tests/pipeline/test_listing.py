"""Listing pages through jobs newest first with a cursor, without repeats or gaps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app


@pytest.fixture
def quiet_client(settings: Settings) -> Iterator[TestClient]:
    """An app on its own Redis database, where no worker listens: jobs stay queued."""
    isolated = settings.model_copy(update={"redis_url": settings.redis_url.rsplit("/", 1)[0] + "/7"})
    with TestClient(create_app(isolated)) as client:
        yield client


def test_cursor_pages_through_120_jobs(quiet_client: TestClient) -> None:
    """120 jobs page out newest first, 25 at a time, each exactly once."""
    submitted = [quiet_client.post("/api/jobs/sleepy", json={"steps": 1}).json()["id"] for _ in range(110)]
    submitted += [quiet_client.post("/api/jobs/failing", json={}).json()["id"] for _ in range(10)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 25, **({"cursor": cursor} if cursor else {})}
        body = quiet_client.get("/api/jobs", params=params).json()
        seen += [job["id"] for job in body["jobs"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert seen[:120] == list(reversed(submitted))
    assert len(seen) == len(set(seen))


def test_filters_by_type_and_state(quiet_client: TestClient) -> None:
    """Filters by type and by state return only matching jobs."""
    quiet_client.post("/api/jobs/failing", json={})
    failing = quiet_client.get("/api/jobs", params={"type": "failing", "limit": 200}).json()["jobs"]
    assert failing and all(job["type"] == "failing" for job in failing)
    queued_sleepy = quiet_client.get("/api/jobs", params={"type": "sleepy", "state": "queued", "limit": 5}).json()
    assert all(job["type"] == "sleepy" and job["state"] == "queued" for job in queued_sleepy["jobs"])
    assert quiet_client.get("/api/jobs", params={"state": "succeeded"}).json() == {"jobs": [], "next_cursor": None}
