"""`create_celery(settings, pm)`: the Celery app, with one task per job type."""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

import pluggy
from celery import Celery

from myspinbot.core.jobtypes import JobType
from myspinbot.core.kernel import Kernel
from myspinbot.core.settings import Settings
from myspinbot.worker.runner import execute_job
from myspinbot.worker.wire import QUEUED_HEADER, transport_options

log = logging.getLogger(__name__)


def create_celery(
    settings: Settings, pm: pluggy.PluginManager | None = None, *, kernel: Kernel | None = None
) -> Celery:
    """A Celery app on MYSPINBOT_REDIS_URL with a task for every job type the plugins declare.

    The job store is the source of truth, so Celery keeps no results. Tasks are acknowledged
    after they finish and re-queued if their worker dies, one message prefetched at a time:
    these are long jobs, and none may be lost with a crashed worker.
    """
    kernel = kernel or Kernel(settings, pm)
    app = Celery("myspinbot", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options(settings),
        # Fail a publish fast when Redis is down: the API answers 503 rather than hanging.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_queues=None,
        task_default_queue=kernel.queues()[0] if kernel.job_types else "celery",
    )
    for job_type in kernel.job_types.values():
        register_task(app, kernel, job_type)
    app.myspinbot_kernel = kernel
    app.myspinbot_instance = uuid.uuid4().hex[:8]  # made before the pool forks: shared by its children
    return app


def register_task(app: Celery, kernel: Kernel, job_type: JobType) -> None:
    """The thin Celery task of one job type: it passes the job id to the kernel's wrapper."""

    def run_job(task: Any, job_id: str) -> str:
        # The record as queued, the start's hint, comes in a header of ours (wire.task_message).
        # Celery keeps no result; the text is what its "Task ... succeeded" log line shows.
        worker = worker_name(app, task.request.hostname)
        queued = getattr(task.request, QUEUED_HEADER, None)
        hint = queued if isinstance(queued, str) else None
        return str(execute_job(kernel, job_type, job_id, worker=worker, queued=hint))

    app.task(
        name=job_type.task_name,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        queue=job_type.queue,
    )(run_job)


def worker_name(app: Celery, hostname: str | None) -> str:
    """This worker's name in heartbeats and job records: its node name and an id made at start-up,
    so a worker restarted under the same host name is not taken for the one that died."""
    return f"{hostname or socket.gethostname()}#{app.myspinbot_instance}"


def kernel_of(app: Celery) -> Kernel:
    """The kernel a Celery app was built with."""
    kernel: Kernel = app.myspinbot_kernel
    return kernel
