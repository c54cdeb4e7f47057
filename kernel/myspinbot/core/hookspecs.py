"""Every hook a MySpinBot plugin can implement. This module is the plugin reference.

Implement a hook with a function of the same name decorated with `myspinbot.hookimpl`.
An implementation may accept fewer arguments than the spec lists (pluggy passes only the ones
it names), so new arguments can be added later without breaking plugins. A function whose
name starts with a hook-like prefix but matches no spec is rejected at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from prometheus_client import CollectorRegistry

    from myspinbot.core.jobs import Job, JobEvent
    from myspinbot.core.jobtypes import JobType
    from myspinbot.core.kernel import Kernel
    from myspinbot.core.settings import Settings
    from myspinbot.core.store import JobStore

PROJECT_NAME = "myspinbot"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- declarations: called once while the kernel starts, in the API and in every worker ---


@hookspec
def register_job_types(settings: Settings) -> list[JobType] | None:
    """Declare job types.

    Return a list of `JobType`. Called once per process at start-up; the kernel checks that
    names and route aliases are unique across all plugins and fails naming both plugins if not.
    The handler of each job type runs in a worker through a Celery task the kernel registers.
    """


@hookspec
def register_routes(settings: Settings, kernel: Kernel) -> list[APIRouter] | None:
    """Add HTTP routes to the API.

    Return a list of `fastapi.APIRouter`. Called once when the API app is built. Every route's
    method and path must be unique across the kernel and all plugins; a clash fails start-up
    naming both owners. Routes under `/api/` require the API token when one is set.
    """


@hookspec(firstresult=True)
def job_store(settings: Settings) -> JobStore | None:
    """Provide the job store (records, cancel flags, events, statistics).

    Return an object implementing `myspinbot.core.store.JobStore`, or None to let another plugin
    provide it. Stops at the first non-None result. Called once per process.
    """


@hookspec
def register_metrics(registry: CollectorRegistry, kernel: Kernel) -> None:
    """Register Prometheus collectors on the API's `/metrics` registry.

    Called once when the API app is built. Collectors that read the store at scrape time give
    counts that are exact across processes (see docs/architecture.md, Metrics).
    """


@hookspec
def instrument_app(app: FastAPI, kernel: Kernel) -> None:
    """Wrap or instrument the finished FastAPI app (middleware, `/metrics` endpoint).

    Called once, after all routes are added and before the app serves requests.
    """


# --- observation: called as jobs move ---


@hookspec
def job_event(event: JobEvent, kernel: Kernel) -> None:
    """Observe a job event right after it was stored, in the process that caused it.

    Called in the API for `job.queued` and cancels of queued jobs, and in the worker for
    `job.started`, `job.progress` and the finishing events. Must be quick and must not raise:
    an exception is logged and ignored. For delivery to clients use the event stream instead.
    """


@hookspec
def batch_finished(batch_id: str, last_job: Job, kernel: Kernel) -> None:
    """Observe a batch whose every job has reached a final state (`batch.finished`).

    Called exactly once per batch, right after the event of its last job to finish, in the
    process that finished it (usually a worker; the API when the batch was cancelled while
    queued). `last_job` is that job; read the whole batch with
    `await kernel.store.get_batch(batch_id)` and its jobs with `kernel.store.get_many(ids)`.
    Must be quick and must not raise: an exception is logged and ignored.
    """


# --- lifecycle ---


@hookspec
def startup(kernel: Kernel) -> Any:
    """Called when the API or a worker process has started; may return an awaitable in the API."""


@hookspec
def shutdown(kernel: Kernel) -> Any:
    """Called when the API or a worker process stops; may return an awaitable in the API."""
