"""A worker process's own life: its heartbeat and the plugins' `startup` / `shutdown` hooks.

Connected to Celery's process-global worker signals once, by `run_worker` (the `myspinbot worker`
command), never by `create_celery`: the API and the tests build Celery apps too, and must not
collect a heartbeat and a set of hook calls for each one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

from celery import Celery, signals

from myspinbot.core.jobs import format_time, utc_now
from myspinbot.core.kernel import Kernel
from myspinbot.core.plugins import call_lifecycle_hook_sync
from myspinbot.worker.app import kernel_of, worker_name
from myspinbot.worker.resources import machine_resources

log = logging.getLogger(__name__)


class WorkerLifecycle:
    """What happens when this worker is ready and when it stops."""

    def __init__(self, app: Celery, kernel: Kernel) -> None:
        self.app = app
        self.kernel = kernel
        self.heartbeat = WorkerHeartbeat(kernel)

    def on_ready(self, sender: Any = None, **_: Any) -> None:
        """Start beating (workers online, in /health) and call every plugin's `startup`."""
        if getattr(sender, "app", None) is not self.app:
            return
        self.heartbeat.start(worker_name(self.app, getattr(sender, "hostname", None)), worker_details(sender))
        call_lifecycle_hook_sync(self.kernel.pm, "startup", kernel=self.kernel)

    def on_shutdown(self, sender: Any = None, **_: Any) -> None:
        """Call every plugin's `shutdown`, then stop beating (the worker leaves the online list)."""
        call_lifecycle_hook_sync(self.kernel.pm, "shutdown", kernel=self.kernel)
        self.heartbeat.stop()


def run_worker(app: Celery, argv: Sequence[str]) -> None:
    """Run a Celery worker of `app` with its heartbeat and lifecycle hooks connected."""
    lifecycle = WorkerLifecycle(app, kernel_of(app))
    signals.worker_ready.connect(lifecycle.on_ready, weak=False)
    signals.worker_shutdown.connect(lifecycle.on_shutdown, weak=False)
    app.worker_main(list(argv))


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
