"""`create_celery(settings, pm)`: the Celery app, with one task per job type."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from typing import Any

import pluggy
from celery import Celery, signals

from myspinbot.core.jobs import format_time, utc_now
from myspinbot.core.jobtypes import JobType
from myspinbot.core.kernel import Kernel
from myspinbot.core.queueing import PRIORITY_STEPS, SUB_QUEUE_SEPARATOR
from myspinbot.core.settings import Settings
from myspinbot.worker.resources import machine_resources
from myspinbot.worker.runner import execute_job

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
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_seconds,
            "socket_connect_timeout": 2,
            "socket_timeout": 10,
            # kombu's defaults, spelled out: the publisher and the queue controls write these lists
            "priority_steps": list(PRIORITY_STEPS),
            "sep": SUB_QUEUE_SEPARATOR,
        },
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
    connect_worker_signals(app, kernel)
    return app


def register_task(app: Celery, kernel: Kernel, job_type: JobType) -> None:
    """The thin Celery task of one job type: it passes the job id to the kernel's wrapper."""

    def run_job(task: Any, job_id: str) -> str:
        # Celery keeps no result; the text is what its "Task ... succeeded" log line shows.
        return str(execute_job(kernel, job_type, job_id, worker=worker_name(app, task.request.hostname)))

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


def connect_worker_signals(app: Celery, kernel: Kernel) -> None:
    """Heartbeats (workers online, in /health) and the plugins' start-up and shut-down hooks."""
    heartbeat = WorkerHeartbeat(kernel)

    def on_ready(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        heartbeat.start(worker_name(app, getattr(sender, "hostname", None)), worker_details(sender))
        kernel.pm.hook.startup(kernel=kernel)

    def on_shutdown(sender: Any = None, **_: Any) -> None:
        heartbeat.stop()
        kernel.pm.hook.shutdown(kernel=kernel)

    signals.worker_ready.connect(on_ready, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)


def worker_details(consumer: Any) -> dict[str, Any]:
    """What the queues panel shows of a worker: host, queues it takes from, concurrency, PID."""
    try:
        queues = sorted(queue.name for queue in consumer.task_consumer.queues)
    except AttributeError:
        queues = sorted(consumer.app.amqp.queues.consume_from or {})
    concurrency = getattr(getattr(consumer, "controller", None), "concurrency", None)
    return {
        "host": socket.gethostname(),
        "queues": queues,
        "concurrency": int(concurrency) if concurrency else 1,
        "pid": os.getpid(),
        "started_at": format_time(utc_now()),
    }


class WorkerHeartbeat:
    """A thread that tells the store this worker is alive, until the worker stops."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.interval = kernel.settings.worker_heartbeat_seconds
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.name = ""
        self.details: dict[str, Any] = {}

    def start(self, name: str, details: dict[str, Any] | None = None) -> None:
        self.name = name
        self.details = details or {}
        self.thread = threading.Thread(target=self._beat, name="myspinbot-heartbeat", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _beat(self) -> None:
        loop = asyncio.new_event_loop()
        store = self.kernel.new_store()
        try:
            while not self.stopping.is_set():
                try:
                    info = {**self.details, **machine_resources(), "seen_at": format_time(utc_now())}
                    loop.run_until_complete(store.worker_heartbeat(self.name, self.interval * 3, info))
                except Exception as error:  # Redis away: keep trying, the worker itself goes on
                    log.warning("worker heartbeat failed: %s", error)
                self.stopping.wait(self.interval)
            try:
                loop.run_until_complete(store.worker_gone(self.name))
            except Exception:
                log.debug("could not remove worker %s from the online list", self.name)
        finally:
            loop.run_until_complete(store.close())
            loop.close()
