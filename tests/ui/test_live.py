"""The live feed against a real API, worker and Redis: events, paging, and an API restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from myspinbot.client import AsyncMySpinBotClient, JobState
from myspinbot_ui.live import LiveFeed, stream_id_at
from myspinbot_ui.state import JobBoard, JobFilter
from myspinbot_ui.status import BackendStatus, Reach
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow


async def until(condition: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def client(live_stack: LiveStack) -> AsyncIterator[AsyncMySpinBotClient]:
    async with AsyncMySpinBotClient(live_stack.api_url) as api:
        yield api


def test_the_first_resume_point_is_a_stream_id() -> None:
    """A time becomes the stream id of that millisecond (what Redis stream ids are made of)."""
    assert stream_id_at(1700000000.1234) == "1700000000123-0"
    assert stream_id_at(-5) == "0-0"


async def test_the_feed_follows_a_job_across_an_api_restart(
    live_stack: LiveStack, client: AsyncMySpinBotClient
) -> None:
    """Events keep the board current; with the API stopped and started, the job's end still arrives."""
    board, status = JobBoard(), BackendStatus()
    feed = LiveFeed(client, board, status, lambda: None, health_interval=0.2)
    running = asyncio.create_task(feed.run())
    try:
        await until(lambda: status.api is Reach.UP, what="a first health answer")
        job = await client.submit("sleepy", {"steps": 40, "step_seconds": 0.1})
        await until(lambda: (seen := board.get(job.id)) is not None and seen.state is JobState.RUNNING, what="running")

        await asyncio.to_thread(live_stack.stop_api)
        await until(lambda: status.api is Reach.DOWN, what="the outage to be noticed")
        assert status.outage is not None
        await asyncio.sleep(2)  # the worker keeps going; its events wait in Redis
        # Started from this (the main) thread: the API dies with the thread that started it (PDEATHSIG).
        live_stack.start_api()

        await until(lambda: board.get(job.id).state is JobState.SUCCEEDED, what="the replayed end")  # type: ignore[union-attr]
        final = await client.get(job.id)
        assert board.get(job.id) == final
        await until(lambda: status.api is Reach.UP and status.outage is None, what="the banner to go")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_pages_load_newest_first_then_older_on_demand(client: AsyncMySpinBotClient) -> None:
    """The first page holds the newest jobs of a filter; asking again reads the next older page."""
    jobs = [await client.submit("sleepy", {"steps": 1, "step_seconds": 0}) for _ in range(5)]
    for job in jobs:
        await asyncio.wait_for(client.wait(job.id), 30)
    board = JobBoard()
    feed = LiveFeed(client, board, BackendStatus(), lambda: None, page_size=2)
    sleepy = JobFilter(job_type="sleepy")
    assert await feed.load_page(sleepy)
    newest = [job.id for job in reversed(jobs)]
    assert [job.id for job in board.jobs(sleepy)] == newest[:2]
    assert board.page_cursor(sleepy).has_more
    assert await feed.load_page(sleepy, older=True)
    assert [job.id for job in board.jobs(sleepy)] == newest[:4]
    done = JobFilter(state=JobState.SUCCEEDED, job_type="sleepy")
    assert await feed.load_page(done)
    assert all(job.state is JobState.SUCCEEDED for job in board.jobs(done))
