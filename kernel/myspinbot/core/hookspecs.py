"""Every hook a MySpinBot plugin can implement. This module is the plugin reference.

Implement a hook with a function of the same name decorated with `myspinbot.hookimpl`.
An implementation may accept fewer arguments than the spec lists (pluggy passes only the ones
it names), so new arguments can be added later without breaking plugins.

What is checked, and where:
- at start-up, a function marked with `hookimpl` whose name matches no spec here fails the
  process naming the plugin (`pm.check_pending()` in `myspinbot.core.plugins`): a typo fails
  loudly. Functions without the marker are plain functions and are ignored;
- the kernel calls every hook through pluggy (`pm.hook`, or pluggy's subset callers where it
  must name the plugin behind a declaration), so plugins' wrappers and pluggy's tracing see
  every call;
- tests/kernel/test_hooks.py fails when a spec here has no docstring, no implementation among
  the built-in plugins (plugins/*) or no test that names it.
A plugin object must be hashable (modules, classes and ordinary instances are), as pluggy's
subset callers require.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from prometheus_client import CollectorRegistry

    from myspinbot.core.identity import Credentials, IdentityStore, Principal
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
    naming both owners. Routes under `/api/` require an authenticated caller whenever auth is on;
    a route that loads a job must do so through `myspinbot.api.deps` (`ReadableJob`,
    `ActionableJob`) so that a member never reaches another member's job (see docs/architecture.md).
    """


@hookspec(firstresult=True)
def job_store(settings: Settings) -> JobStore | None:
    """Provide the job store (records, cancel flags, events, statistics).

    Return an object implementing `myspinbot.core.store.JobStore`, or None to let another plugin
    provide it. Stops at the first non-None result. Called once per process (and once per worker
    thread when no plugin implements `blocking_job_store`).
    """


@hookspec(firstresult=True)
def blocking_job_store(settings: Settings, store: JobStore) -> JobStore | None:
    """Provide a blocking twin of the process's job store, for a worker thread.

    `store` is the store `job_store` provided in this process. If it is yours, return a new
    `myspinbot.core.store.JobStore` on the same data whose coroutines never suspend: each does
    its I/O blocking the calling thread and returns at its first step; else return None (the
    twin must share the store's data, so only the store's own plugin can make it). A worker
    thread drives each call of the twin with `myspinbot.run_blocking`, without an event loop (one
    twin per thread; never used from an event loop, where it would block every other task); a
    call that suspends all the same fails with RuntimeError. With no twin, each worker thread
    runs a store of `job_store` on an event loop of its own. Stops at the first non-None result.
    Called once per worker thread.
    """


@hookspec(firstresult=True)
def identity_store(settings: Settings) -> IdentityStore | None:
    """Provide the identity store (users, hashed API keys, failed-attempt counters).

    Return an object implementing `myspinbot.core.identity.IdentityStore`, or None to let another
    plugin provide it. Stops at the first non-None result. Called once per process, on first use.
    """


# --- per request ---


@hookspec(firstresult=True)
def authenticate(credentials: Credentials, kernel: Kernel) -> Principal | Awaitable[Principal | None] | None:
    """Say who a caller is.

    Receives the `Credentials` of one HTTP request, WebSocket connection or login (`api_key`
    from `Authorization: Bearer`, `username`/`password` only on `POST /api/auth/login`, the
    caller's `address` and its `headers`). Return a `Principal` (user name and role), None when
    these credentials are not this plugin's to judge, or an awaitable of either.
    Implementations are tried newest-registered first and the first non-None result wins; the
    kernel's built-in plugin (`builtin-auth`: the bootstrap token, stored keys and passwords)
    runs last, so a plugin can put OIDC or a trusted proxy's forward-auth header in front.
    A plugin that trusts a header must only be installed where a proxy sets (and strips) it.
    No result from any plugin means 401. Called on every authenticated request: keep it fast.
    """


@hookspec
def register_metrics(registry: CollectorRegistry, kernel: Kernel) -> None:
    """Register Prometheus collectors on the API's `/metrics` registry.

    Called once when the API app is built, by the metrics plugin as it installs `/metrics`
    (so only where myspinbot-metrics is installed). Collectors that read the store at scrape
    time give counts that are exact across processes (see docs/architecture.md, Metrics).
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

    Called by the job service (`myspinbot.core.job_service`) in the process that made the
    change: in the API for `job.queued`, cancels of queued jobs, priority changes and jobs the
    maintenance pass re-queued or failed; in the worker for `job.started`, `job.progress` and the
    finishing events. Must be quick and must not raise: an exception is logged and ignored, but
    the implementations pluggy had not called yet miss that one event. For delivery to clients
    use the event stream instead.
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
    """Called once when a process has started: the API when its app starts serving (inside its
    event loop), a worker when Celery reports it ready (outside any loop, in the main process).

    May return an awaitable: the API awaits it; a worker runs it to its end on a loop of its own.
    A plugin that raises is logged with its name; the other plugins still start.
    """


@hookspec
def shutdown(kernel: Kernel) -> Any:
    """Called once when a process stops: the API before it closes the store and the broker
    connection, a worker when Celery shuts it down (before its heartbeat stops).

    May return an awaitable, handled as for `startup`; a failure is logged with the plugin's name.
    """
