"""`LiveFeed`: keeps one session's `JobBoard` and `BackendStatus` current from the API.

Two loops run while the browser is connected: a health poll (which is what notices the API
going away and coming back) and a /ws watch of every job through the client, which reconnects
by itself and resumes after the last event it delivered, so nothing is missed across an outage.

Pages of jobs are read only once the watch has connected: from its hello on, every change comes
as an event, and the board keeps only newer versions of a job, so a job that changes while a
page is loading is never left showing the state the page had.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from myspinbot_client import ApiError, ApiUnavailable, AsyncMySpinBotClient
from myspinbot_ui.state import JobBoard, JobFilter
from myspinbot_ui.status import BackendStatus, Reach

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 5.0
# After an error reconnecting cannot fix (a wrong token, say), try again this much later.
FAILED_WATCH_RETRY = 15.0
RESTART_AFTER_CRASH = 2.0


class LiveFeed:
    """Health polling, paging and the /ws watch for one dashboard session.

    `on_api_up` runs when the API answers a health poll (at first, and after an outage);
    `on_connected` each time the watch (re)connects, once its stream position is on the board:
    the place to read the first page of jobs.
    """

    def __init__(
        self,
        client: AsyncMySpinBotClient,
        board: JobBoard,
        status: BackendStatus,
        on_change: Callable[[], None],
        *,
        page_size: int = 20,
        health_interval: float = 2.0,
        on_api_up: Callable[[], Awaitable[None]] | None = None,
        on_connected: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.board = board
        self.status = status
        self.on_change = on_change
        self.page_size = page_size
        self.health_interval = health_interval
        self.on_api_up = on_api_up
        self.on_connected = on_connected
        self.clock = clock
        self._check_now = asyncio.Event()
        self._synced = False  # whether on_api_up ran since the API last answered

    async def run(self) -> None:
        """Poll health and watch events until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._forever(self._poll_health))
            tasks.create_task(self._forever(self._watch))

    async def _forever(self, loop: Callable[[], Awaitable[None]]) -> None:
        # A bug in one pass must not leave the page frozen: log it and start that loop again.
        while True:
            try:
                await loop()
            except Exception:
                log.exception("the dashboard's live feed failed; restarting it")
                await asyncio.sleep(RESTART_AFTER_CRASH)

    async def load_page(self, job_filter: JobFilter, *, older: bool = False) -> bool:
        """Read the newest page for `job_filter` (or the next older one); False when it was not read.

        Not before the watch has connected (see the module's docstring): `on_connected` reads the
        first page then. False too when the API is away.
        """
        if not self.board.streaming:
            return False
        cursor = self.board.page_cursor(job_filter).next_cursor if older else None
        try:
            page = await self.client.list_page(job_filter.state, job_filter.job_type, self.page_size, cursor)
        except ApiError as error:
            self._api_failed(error)
            self.on_change()
            return False
        self.status.api_answered()
        self.board.add_page(job_filter, page)
        self.on_change()
        return True

    def check_health_now(self) -> None:
        """Ask the health loop for an immediate poll (after a failed request, say)."""
        self._check_now.set()

    async def _poll_health(self) -> None:
        while True:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    health = await self.client.health()
            except TimeoutError:
                self._api_failed(ApiUnavailable(self.client.base_url, "no answer in time"))
            except ApiError as error:
                self._api_failed(error)
            else:
                self.status.health_answered(health, self.clock())
                if not self._synced and self.on_api_up is not None:
                    await self._api_up()
            self.on_change()
            self._check_now.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.health_interval):
                    await self._check_now.wait()

    def _api_failed(self, error: ApiError) -> None:
        self.status.api_failed(error, self.clock())
        if self.status.api is Reach.DOWN:
            self._synced = False  # job types may differ when it comes back

    async def _api_up(self) -> None:
        assert self.on_api_up is not None
        try:
            await self.on_api_up()
        except ApiError as error:  # tried again on the next poll
            self._api_failed(error)
        else:
            self._synced = True
            self.status.api_answered()

    async def _watch(self) -> None:
        while True:
            try:
                # From the board's position (the last event, or the first hello) once it has one;
                # the first watch starts from the server's hello and the first page is read after it.
                async for event in self.client.watch(
                    None,
                    last_event_id=self.board.last_event_id,
                    stop_when_finished=False,
                    reconnect_for=None,
                    on_connect=self._connected,
                    on_reconnect=self._reconnecting,
                ):
                    self.board.apply_event(event)
                    self.on_change()
            except ApiError as error:
                log.warning("live updates stopped: %s", error)
                self.status.live_failed(error, None)
                self.on_change()
                await asyncio.sleep(FAILED_WATCH_RETRY)
                self.status.live_restarted()
                self.on_change()

    async def _connected(self, last_event_id: str) -> None:
        self.board.stream_connected(last_event_id)
        self.status.live_connected()
        self.on_change()
        if self.on_connected is not None:
            await self.on_connected()

    def _reconnecting(self, failure: ApiError, delay: float) -> None:
        self.status.live_failed(failure, delay)
        self.check_health_now()
        self.on_change()
