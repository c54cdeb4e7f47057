"""`MySpinBotClient` and `AsyncMySpinBotClient` against a real API, worker and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from myspinbot_client import ApiError, AsyncMySpinBotClient, JobEvent, JobState, MySpinBotClient
from myspinbot_client.watch import is_after
from tests.support.processes import LiveStack


@pytest.fixture
def api(live_stack: LiveStack) -> Iterator[MySpinBotClient]:
    with MySpinBotClient(live_stack.api_url) as client:
        yield client


def test_catalog_health_and_plugins(api: MySpinBotClient) -> None:
    """health is ok with Redis up; job types carry their schema and file fields; plugins are listed."""
    assert api.health().ok
    job_types = {job_type.name: job_type for job_type in api.job_types()}
    assert job_types["sleepy"].params_schema["properties"]["steps"]["type"] == "integer"
    assert [spec.field for spec in job_types["train"].files] == ["files"]
    assert "redis_store" in {plugin.name for plugin in api.plugins()}


def test_watch_replays_exactly_the_events_after_a_given_id(api: MySpinBotClient) -> None:
    """Watching again from an event id yields each later event of the job once, in order, and nothing else."""
    job = api.submit("sleepy", {"steps": 5, "step_seconds": 0.05})
    first = [event for event in api.watch(job.id, timeout=60) if not event.is_snapshot]
    assert first[-1].event == "job.succeeded"
    resumed = list(api.watch(job.id, last_event_id=first[1].id, timeout=60))
    assert [(event.id, event.event, event.job.step) for event in resumed] == [
        (event.id, event.event, event.job.step) for event in first[2:]
    ]


def test_on_connect_gets_each_hello_before_that_connections_events(api: MySpinBotClient, live_stack: LiveStack) -> None:
    """on_connect runs at each (re)connection with its hello id, before any event; every event comes after it."""
    job = api.submit("sleepy", {"steps": 30, "step_seconds": 0.1})
    hellos: list[tuple[str, int]] = []  # (the hello's last_event_id, events yielded before it)
    events: list[JobEvent] = []

    def follow() -> None:
        for event in api.watch(job.id, timeout=90, on_connect=lambda hello: hellos.append((hello, len(events)))):
            events.append(event)

    watcher = threading.Thread(target=follow)
    watcher.start()
    deadline = time.monotonic() + 30
    while not [event for event in events if not event.is_snapshot] and time.monotonic() < deadline:
        time.sleep(0.05)
    live_stack.restart_api()  # from this (the main) thread: the API dies with the thread that started it
    watcher.join(90)
    assert not watcher.is_alive()
    assert events[-1].event == "job.succeeded"
    assert len(hellos) == 2
    (first, before_first), (_, before_second) = hellos
    assert before_first == 0 and 0 < before_second < len(events)
    assert all(is_after(event.id, first) for event in events if event.id is not None)


async def test_an_async_on_connect_is_awaited_and_its_error_ends_the_watch(live_stack: LiveStack) -> None:
    """An async hook is awaited before the first event; an error it raises ends the watch as is, without a retry."""
    order: list[str] = []
    retries: list[ApiError] = []

    async def connected(last_event_id: str) -> None:
        await asyncio.sleep(0.05)
        order.append(f"hello {last_event_id}")

    async def refuse(last_event_id: str) -> None:
        raise ApiError(503, "hook_refused", "the caller's own error, retryable as it looks")

    async with AsyncMySpinBotClient(live_stack.api_url) as api:
        job = await api.submit("sleepy", {"steps": 2, "step_seconds": 0.05})
        async for event in api.watch(job.id, on_connect=connected):
            order.append(event.event)
        assert order[0].startswith("hello ") and len(order) > 1
        with pytest.raises(ApiError) as raised:
            async for _ in api.watch(job.id, on_connect=refuse, on_reconnect=lambda error, _: retries.append(error)):
                pass
    assert raised.value.code == "hook_refused" and retries == []


def test_watching_a_finished_job_yields_its_state_and_ends(api: MySpinBotClient) -> None:
    """A job already finished when the watch starts gives one snapshot with its end state."""
    job = api.wait(api.submit("sleepy", {"steps": 1, "step_seconds": 0}).id, timeout=60)
    assert job.state is JobState.SUCCEEDED
    events = list(api.watch(job.id, timeout=30))
    assert [(event.event, event.job.state) for event in events] == [("snapshot", JobState.SUCCEEDED)]


def test_list_follows_cursors_across_pages(api: MySpinBotClient) -> None:
    """list(limit=5, page_size=2) walks three pages to give five distinct jobs, newest first."""
    for _ in range(5):
        api.submit("sleepy", {"steps": 1, "step_seconds": 0})
    jobs = list(api.list(job_type="sleepy", limit=5, page_size=2))
    assert len({job.id for job in jobs}) == 5
    created = [job.created_at for job in jobs if job.created_at is not None]
    assert len(created) == 5
    assert created == sorted(created, reverse=True)


def test_an_idempotency_key_returns_the_first_job(api: MySpinBotClient) -> None:
    """Submitting twice with one key gives the same job; another key gives another."""
    key = uuid.uuid4().hex
    first = api.submit("sleepy", {"steps": 1, "step_seconds": 0}, idempotency_key=key)
    again = api.submit("sleepy", {"steps": 1, "step_seconds": 0}, idempotency_key=key)
    other = api.submit("sleepy", {"steps": 1, "step_seconds": 0}, idempotency_key=uuid.uuid4().hex)
    assert again.id == first.id
    assert other.id != first.id


def test_api_errors_carry_status_code_and_field_errors(api: MySpinBotClient) -> None:
    """A 404 and a 422 raise ApiError with the API's status, code, message and field details."""
    with pytest.raises(ApiError) as missing:
        api.get("0" * 32)
    assert (missing.value.status, missing.value.code) == (404, "job_not_found")
    with pytest.raises(ApiError) as invalid:
        api.submit("sleepy", {"steps": 0})
    assert invalid.value.status == 422
    assert [detail.field for detail in invalid.value.details] == ["steps"]


def test_uploads_go_under_their_field_and_artifacts_download(api: MySpinBotClient, tmp_path: Path) -> None:
    """Multipart uploads with typed params are accepted; the produced artifacts download whole."""
    image = tmp_path / "cat.png"
    Image.new("RGB", (32, 32), (200, 80, 40)).save(image)
    job = api.submit("train", {"base_model": "sdxl", "max_train_steps": 100}, files={"files": [image]})
    assert job.params["max_train_steps"] == 100
    done = api.wait(job.id, timeout=60)
    assert done.state is JobState.SUCCEEDED, done.error
    saved = {path.name: path.stat().st_size for path in api.download(job.id, tmp_path / "out")}
    assert saved == {artifact.name: artifact.size for artifact in done.artifacts}


async def test_the_async_client_submits_and_watches_to_the_end(live_stack: LiveStack) -> None:
    """The asyncio client submits, streams progress in order until success, and lists the job."""
    async with AsyncMySpinBotClient(live_stack.api_url) as api:
        job = await api.submit("sleepy", {"steps": 4, "step_seconds": 0.05})
        steps = [event.job.step async for event in api.watch(job.id)]
        assert steps == sorted(steps) and steps[-1] == 4
        assert (await api.get(job.id)).state is JobState.SUCCEEDED
        assert job.id in [listed.id async for listed in api.list(job_type="sleepy", limit=20)]
