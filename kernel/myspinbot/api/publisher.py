"""Handing jobs to Celery without blocking the API's event loop."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from celery import Celery

from myspinbot.jobtypes import JobType

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker refused or could not take the message."""


class JobPublisher:
    """Publishes one Celery message per job, with `task_id` = job id, on the job type's queue.

    kombu's publish is blocking; it runs on a small thread pool so the event loop keeps serving
    other requests and WebSocket clients while Redis answers.
    """

    def __init__(self, celery: Celery, threads: int = 8) -> None:
        self.celery = celery
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="myspinbot-publish")

    async def publish(self, job_type: JobType, job_id: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self._send, job_type, job_id)
        except Exception as error:
            log.warning("could not enqueue job %s: %s", job_id, error)
            raise BrokerUnavailable(str(error)) from error

    def _send(self, job_type: JobType, job_id: str) -> None:
        self.celery.send_task(job_type.task_name, args=[job_id], task_id=job_id, queue=job_type.queue)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
