"""Periodic maintenance run by the API: re-queue jobs whose worker vanished, remove orphan files.

One API replica at a time does it, under a lease in the store.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from pathlib import Path

from myspinbot.core.job_service import JobQueue, JobService, Reaped
from myspinbot.core.jobfiles import JOB_ID
from myspinbot.core.jobs import Job, JobState
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import StoreUnavailable

log = logging.getLogger(__name__)

ORPHAN_GRACE_SECONDS = 600  # a submit writes its folder before its record: never race it
STAGING_MAX_AGE_SECONDS = 3600
REAP_PAGE = 500
REAP_MAX_JOBS = 10_000  # running jobs looked at per pass (the newest first)


class Maintenance:
    """The reaper and the file cleanup, on a timer."""

    def __init__(self, kernel: Kernel, queue: JobQueue, interval: float) -> None:
        self.kernel = kernel
        self.queue = queue
        self.service = JobService.of(kernel)
        self.interval = interval
        self.holder = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        # A heartbeat lives three intervals (worker.py). After Redis was away every heartbeat is stale,
        # though the workers live: give them that long to beat again before judging any of them lost.
        self.heartbeat_grace = kernel.settings.worker_heartbeat_seconds * 3
        self.reap_after = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=2.0)

    async def _loop(self) -> None:
        self.reap_after = time.monotonic() + self.heartbeat_grace  # the API may start with Redis
        while True:
            await asyncio.sleep(self.interval)
            try:
                if await self.kernel.store.acquire_lease("maintenance", self.holder, self.interval * 3):
                    await self.run_once(reap=time.monotonic() >= self.reap_after)
            except StoreUnavailable as error:
                self.reap_after = time.monotonic() + self.heartbeat_grace
                log.info("maintenance skipped, the store is unreachable: %s", error)
            except Exception:
                log.exception("maintenance failed")

    async def run_once(self, *, reap: bool = True) -> dict[str, int]:
        """One pass; returns what it did, for logs and tests. `reap=False` leaves running jobs alone."""
        requeued, failed = await self.reap_lost_jobs() if reap else (0, 0)
        removed = await asyncio.to_thread(self.remove_orphan_files, await self.live_job_ids())
        return {"requeued": requeued, "failed": failed, "files_removed": removed}

    async def reap_lost_jobs(self) -> tuple[int, int]:
        """Running jobs whose worker stopped sending heartbeats go back to the queue, or fail
        once they have used their attempts (MYSPINBOT_MAX_ATTEMPTS); the job service decides."""
        verdicts = [
            await self.service.reap(job, self.kernel.job_types.get(job.type), self.queue)
            for job in await self.running_jobs()
        ]
        return verdicts.count(Reaped.REQUEUED), verdicts.count(Reaped.FAILED)

    async def running_jobs(self) -> list[Job]:
        """The running jobs, newest first, page by page: only they can have lost their worker.

        Not `active_jobs`: it reads the queued ones too, and under a backlog of 10k queued jobs
        parsing their records every pass cost the API ~10% of its CPU (docs/performance.md).
        """
        jobs: list[Job] = []
        cursor: str | None = None
        while len(jobs) < REAP_MAX_JOBS:
            page = await self.kernel.store.list_jobs(state=JobState.RUNNING, limit=REAP_PAGE, cursor=cursor)
            jobs.extend(page.jobs)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return jobs[:REAP_MAX_JOBS]

    async def live_job_ids(self) -> set[str]:
        """Ids of every job folder whose record still exists (checked in chunks, records unread)."""
        jobs_dir = self.kernel.settings.jobs_dir
        if not jobs_dir.is_dir():
            return set()
        names = [entry.name for entry in jobs_dir.iterdir() if JOB_ID.match(entry.name)]
        live: set[str] = set()
        for start in range(0, len(names), 500):
            live |= await self.kernel.store.existing(names[start : start + 500])
        return live

    def remove_orphan_files(self, live: set[str]) -> int:
        """Delete job folders whose record expired (retention) and stale staging folders."""
        now = time.time()
        removed = 0
        jobs_dir = self.kernel.settings.jobs_dir
        staging = self.kernel.settings.data_dir / "staging"
        for folder, max_age, keep in (
            (jobs_dir, ORPHAN_GRACE_SECONDS, live),
            (staging, STAGING_MAX_AGE_SECONDS, set()),
        ):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.name in keep or now - modified(entry) < max_age:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed


def modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()
