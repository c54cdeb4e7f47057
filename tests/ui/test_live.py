"""The live feed against a real API, worker and Redis: first page after the hello, events, paging, API restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from myspinbot_client import AsyncMySpinBotClient, JobState
from myspinbot_ui.live import LiveFeed
from myspinbot_ui.state import JobBoard, JobFilter
from myspinbot_ui.status import BackendStatus, LiveState, Reach
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


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_the_first_page_is_read_once_the_watch_is_live(client: AsyncMySpinBotClient) -> None:
    """No page before the hello; then the feed is live, reads the first page, and a job changed meanwhile is current."""
    board, status = JobBoard(), BackendStatus()
    at_connect: list[tuple[LiveState, str | None, bool]] = []
    changed: list[str] = []

    async def first_page() -> None:
        # A job made after the hello, before the page is read: its events must still reach the board.
        at_connect.append((status.live, board.last_event_id, board.page_cursor(JobFilter()).loaded))
        changed.append((await client.submit("sleepy", {"steps": 3, "step_seconds": 0.05})).id)
        assert await feed.load_page(JobFilter())

    feed = LiveFeed(client, board, status, lambda: None, on_connected=first_page)
    assert not await feed.load_page(JobFilter())
    running = asyncio.create_task(feed.run())
    try:
        await until(lambda: board.page_cursor(JobFilter()).loaded, what="the first page")
        live, hello_id, page_loaded = at_connect[0]
        assert live is LiveState.LIVE and hello_id is not None and not page_loaded
        await until(lambda: (seen := board.get(changed[0])) is not None and seen.finished, what="the job's end")
        assert board.get(changed[0]) == await client.get(changed[0])
        assert len(at_connect) == 1
    finally:
        await stop(running)


async def test_the_feed_follows_a_job_across_an_api_restart(
    live_stack: LiveStack, client: AsyncMySpinBotClient
) -> None:
    """Events keep the board current; with the API stopped and started, the job's end still arrives."""
    board, status = JobBoard(), BackendStatus()
    connections: list[LiveState] = []

    async def connected() -> None:
        connections.append(status.live)

    feed = LiveFeed(client, board, status, lambda: None, health_interval=0.2, on_connected=connected)
    running = asyncio.create_task(feed.run())
    try:
        await until(lambda: status.api is Reach.UP and status.live is LiveState.LIVE, what="health and the watch")
        job = await client.submit("sleepy", {"steps": 40, "step_seconds": 0.1})
        await until(lambda: (seen := board.get(job.id)) is not None and seen.state is JobState.RUNNING, what="running")

        await asyncio.to_thread(live_stack.stop_api)
        await until(lambda: status.api is Reach.DOWN, what="the outage to be noticed")
        assert status.outage is not None
        await until(lambda: status.live is LiveState.RECONNECTING, what="the feed to say it reconnects")
        await asyncio.sleep(2)  # the worker keeps going; its events wait in Redis
        # Started from this (the main) thread: the API dies with the thread that started it (PDEATHSIG).
        live_stack.start_api()

        await until(lambda: board.get(job.id).state is JobState.SUCCEEDED, what="the replayed end")  # type: ignore[union-attr]
        final = await client.get(job.id)
        assert board.get(job.id) == final
        await until(lambda: status.api is Reach.UP and status.outage is None, what="the banner to go")
        assert status.live is LiveState.LIVE and connections == [LiveState.LIVE, LiveState.LIVE]
    finally:
        await stop(running)


async def test_pages_load_newest_first_then_older_on_demand(client: AsyncMySpinBotClient) -> None:
    """The first page holds the newest jobs of a filter; asking again reads the next older page."""
    jobs = [await client.submit("sleepy", {"steps": 1, "step_seconds": 0}) for _ in range(5)]
    for job in jobs:
        await asyncio.wait_for(client.wait(job.id), 30)
    board = JobBoard()
    feed = LiveFeed(client, board, BackendStatus(), lambda: None, page_size=2)
    running = asyncio.create_task(feed.run())
    try:
        await until(lambda: board.streaming, what="the watch to connect")
        sleepy = JobFilter(job_type="sleepy")
        assert await feed.load_page(sleepy)
        newest = [job.id for job in reversed(jobs)]
        # Compared as prefixes: the watch's snapshot may add older sleepy jobs other tests left running.
        assert [job.id for job in board.jobs(sleepy)][:2] == newest[:2] and newest[2] not in board
        assert board.page_cursor(sleepy).has_more
        assert await feed.load_page(sleepy, older=True)
        assert [job.id for job in board.jobs(sleepy)][:4] == newest[:4] and newest[4] not in board
        done = JobFilter(state=JobState.SUCCEEDED, job_type="sleepy")
        assert await feed.load_page(done)
        assert all(job.state is JobState.SUCCEEDED for job in board.jobs(done))
    finally:
        await stop(running)
