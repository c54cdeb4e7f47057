"""`JobPageSession`: keeps one job's page live — the first reads, then /ws events and telemetry frames.

On open it reads the job, its metric series, its log tail and its preview; then it watches the
job by id, which brings its state events and its coalesced telemetry frames. A `job.metric`
frame only says that points arrived: the session reads the new ones (`since_step`) at most
`METRIC_READS_PER_SECOND` times a second, so a fast run costs the API a few small reads.
Drawing is coalesced the same way by the dashboard's render loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from myspinbot_client import ApiError, AsyncMySpinBotClient
from myspinbot_client.telemetry import TelemetryEvent, TelemetryKind
from myspinbot_ui.job_detail import JobDetail

log = logging.getLogger(__name__)

METRIC_READS_PER_SECOND = 2.0
RETRY_SECONDS = 2.0


class JobPageSession:
    """The live feed of one job page; `changed` is called whenever `detail` changed."""

    def __init__(self, client: AsyncMySpinBotClient, job_id: str, changed: Callable[[], None]) -> None:
        self.client = client
        self.detail = JobDetail(job_id)
        self.changed = changed
        self._metrics_due = asyncio.Event()
        self._preview_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start following the job (the page is shown)."""
        self.stop()
        self._tasks = [
            asyncio.create_task(self._follow()),
            asyncio.create_task(self._read_metrics_when_due()),
            asyncio.create_task(self._read_preview_when_due()),
        ]

    def stop(self) -> None:
        """Stop following (the page was left, or the browser went away)."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def load(self) -> None:
        """Read everything the page shows once."""
        job_id = self.detail.job_id
        try:
            self.detail.set_job(await self.client.get(job_id))
        except ApiError as error:
            if error.status == 404:
                self.detail.missing = True
                self.changed()
                return
            raise
        self.detail.add_metrics(await self.client.metrics(job_id))
        self.detail.add_logs(list((await self.client.logs(job_id, tail=200)).lines))
        await self._read_preview()
        self.changed()

    async def _follow(self) -> None:
        while True:
            try:
                await self.load()
                if self.detail.missing:
                    return
                async for event in self.client.watch(
                    self.detail.job_id, reconnect_for=None, on_telemetry=self._telemetry
                ):
                    if self.detail.set_job(event.job):
                        self.changed()
                # Finished: one last read of what arrived after the last frame.
                self._metrics_due.set()
                self.detail.add_logs(list((await self.client.logs(self.detail.job_id, tail=200)).lines))
                self.changed()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following job %s failed; retrying", self.detail.job_id)
                await asyncio.sleep(RETRY_SECONDS)

    async def _telemetry(self, event: TelemetryEvent) -> None:
        if event.kind is TelemetryKind.METRIC:
            self._metrics_due.set()
        elif event.kind is TelemetryKind.LOG:
            self.detail.add_logs(list(event.lines))
            self.changed()
        elif event.kind is TelemetryKind.PREVIEW:
            self._preview_due.set()
        elif event.kind is TelemetryKind.ARTIFACT:
            # The job's state event carries its artifact list too; read it now so a sample shows at once.
            with contextlib.suppress(ApiError):
                if self.detail.set_job(await self.client.get(self.detail.job_id)):
                    self.changed()

    async def _read_metrics_when_due(self) -> None:
        while True:
            await self._metrics_due.wait()
            self._metrics_due.clear()
            try:
                since = self.detail.last_step
                self.detail.add_metrics(await self.client.metrics(self.detail.job_id, since_step=since))
                self.changed()
            except ApiError as error:
                log.warning("reading metrics of %s failed: %s", self.detail.job_id, error)
            await asyncio.sleep(1.0 / METRIC_READS_PER_SECOND)

    async def _read_preview_when_due(self) -> None:
        while True:
            await self._preview_due.wait()
            self._preview_due.clear()
            with contextlib.suppress(ApiError):
                await self._read_preview()
                self.changed()

    async def _read_preview(self) -> None:
        found = await self.client.preview(self.detail.job_id, self.detail.preview_version)
        if found is not None:
            data, _, version = found
            self.detail.set_preview(data, version)
