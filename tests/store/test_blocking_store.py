"""The Redis store's blocking twin (the `blocking_job_store` hook), against a real Redis: the same
records, events, cancel flags and conflicts as the asyncio store, with every call complete at its
first step, so a worker thread drives it without an event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from myspinbot import (
    EventName,
    Job,
    JobEvent,
    JobState,
    Kernel,
    MetricPoint,
    Settings,
    StoreUnavailable,
    TelemetryBatch,
    VersionConflict,
    run_blocking,
)
from myspinbot.cli.procs import free_port
from myspinbot.core import lifecycle
from myspinbot.core.job_service import JobService, Saved, finishing
from myspinbot.core.plugins import make_plugin_manager
from myspinbot.worker.runner import WorkerRuntime, runtime_for
from myspinbot_redis_store import RedisJobStore
from myspinbot_redis_store.blocking import BlockingRedis
from myspinbot_redis_store.keys import Keys
from tests.support.memory_store import InMemoryJobStore
from tests.support.plugins import plugin

WORKER = "celery@host#abcd"
DELIVERY = f"{WORKER}/42"


@pytest.fixture
def stores(redis_url: str) -> Iterator[tuple[RedisJobStore, RedisJobStore]]:
    """The asyncio store (as the API has it) and its blocking twin, on keys of their own."""
    keys = Keys(prefix=f"test-blocking-{uuid.uuid4().hex[:8]}")
    store = RedisJobStore(aioredis.Redis.from_url(redis_url, decode_responses=True), keys=keys, url=redis_url)
    twin = store.blocking_twin()
    assert twin is not None
    yield store, twin
    run_blocking(twin.close())


def queued_job(store: RedisJobStore) -> str:
    """A job written by the asyncio store, as the API's submit writes it; returns its record's JSON."""
    job = lifecycle.new_job(uuid.uuid4().hex, "unit", {}, [])

    async def create() -> str:
        stored, created = await store.create(job, JobEvent(event=EventName.QUEUED, job=job))
        assert created
        await store.close()  # its connections belong to this loop
        return stored.model_dump_json()

    return asyncio.run(create())


def read(store: RedisJobStore, call: str, *args: object) -> object:
    """One read through the asyncio store, on a loop of its own."""

    async def run() -> object:
        try:
            return await getattr(store, call)(*args)
        finally:
            await store.close()

    return asyncio.run(run())


def test_a_job_runs_through_the_twin_and_the_asyncio_store_sees_it(
    stores: tuple[RedisJobStore, RedisJobStore],
) -> None:
    """begin (with the message's hint) and finish on the twin, no event loop: the record, its
    events and the statistics are the ones the asyncio store reads back."""
    store, twin = stores
    hint = queued_job(store)
    told: list[JobEvent] = []
    service = JobService(twin, told.append, max_attempts=3)
    queued = Job.model_validate_json(hint)
    stopped, running = run_blocking(service.begin(queued.id, WORKER, DELIVERY, lambda pid: False, queued))
    assert stopped is None and running is not None and running.state == JobState.RUNNING
    change = run_blocking(service.change(running, finishing(JobState.SUCCEEDED), EventName.SUCCEEDED))
    assert change.saved == Saved.SAVED and change.job.version == 2
    assert [event.event for event in told] == [EventName.STARTED, EventName.SUCCEEDED]

    assert read(store, "get", queued.id) == change.job
    events = read(store, "events_after", "0-0")
    assert isinstance(events, list)
    assert [(event.event, event.job) for event in events] == [
        (EventName.QUEUED, queued),
        (EventName.STARTED, running),
        (EventName.SUCCEEDED, change.job),
    ]
    assert [event.id for event in events[1:]] == [event.id for event in told]
    stats = run_blocking(twin.stats())
    assert stats == read(store, "stats")
    assert stats.finished == {("unit", "succeeded"): 1} and stats.running == {"unit": 0}


def test_the_twin_keeps_compare_and_set_and_reads_the_cancel_flag_in_the_save(
    stores: tuple[RedisJobStore, RedisJobStore],
) -> None:
    """A stale version is a VersionConflict, a missing record a KeyError, and a save reports the
    cancel flag the API raised."""
    store, twin = stores
    job = Job.model_validate_json(queued_job(store))
    started = run_blocking(twin.save(lifecycle.start(job, DELIVERY), EventName.STARTED, 0))
    assert (started.job.version, started.cancel_requested) == (1, False)
    with pytest.raises(VersionConflict):
        run_blocking(twin.save(lifecycle.start(job, DELIVERY), EventName.STARTED, 0))
    with pytest.raises(KeyError):
        gone = job.model_copy(update={"id": uuid.uuid4().hex})
        run_blocking(twin.save(gone, EventName.STARTED, 0))
    read(store, "request_cancel", job.id)
    assert run_blocking(twin.cancel_requested(job.id))
    progressed = run_blocking(twin.save(lifecycle.advance(started.job, 1, 2, "half"), EventName.PROGRESS, 1))
    assert progressed.cancel_requested


def test_the_twin_writes_telemetry_and_pipelines(stores: tuple[RedisJobStore, RedisJobStore]) -> None:
    """Telemetry (a Lua script) and the pipelined reads work on the synchronous client too."""
    store, twin = stores
    job_id = Job.model_validate_json(queued_job(store)).id
    batch = TelemetryBatch(job_id)
    batch.points.append(MetricPoint(step=1, values={"loss": 0.5}))
    batch.logs.append(("2026-12-01T00:00:00.000Z", "info", "hello"))
    assert run_blocking(twin.telemetry.write(batch)).points_dropped == 0
    assert run_blocking(twin.get_many([job_id, uuid.uuid4().hex]))[1] is None
    assert run_blocking(twin.existing([job_id])) == {job_id}
    lines, _ = run_blocking(twin.telemetry.logs(job_id, tail=10))
    assert [line.message for line in lines] == ["hello"]


def test_the_twin_answers_store_unavailable_when_redis_is_away() -> None:
    """No Redis: StoreUnavailable, which the worker's runtime retries (as with the asyncio store)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    twin = RedisJobStore(BlockingRedis(redis.Redis.from_url(url)), url=url)
    with pytest.raises(StoreUnavailable):
        run_blocking(twin.get("nothing"))


def test_run_blocking_refuses_a_call_that_suspends() -> None:
    """A coroutine that waits on a loop cannot be driven without one: RuntimeError, not a hang."""
    with pytest.raises(RuntimeError, match="suspended"):
        run_blocking(asyncio.sleep(0))


def test_the_hook_gives_the_twin_only_of_its_own_store(settings: Settings, tmp_path: Path) -> None:
    """blocking_job_store: a worker thread on the Redis store gets the twin and no event loop; with
    another plugin's store it gets None, and its runtime keeps a loop for that store."""
    kernel = Kernel(settings)
    runtime = WorkerRuntime(kernel)
    assert isinstance(runtime.store, RedisJobStore) and isinstance(runtime.store.redis, BlockingRedis)
    assert runtime.loop is None

    memory = InMemoryJobStore()
    pm = make_plugin_manager(settings)  # the Redis store's plugin is loaded, but not the process's store
    pm.register(plugin(job_store=lambda: memory), name="memory")
    other = Kernel(settings, pm)
    assert other.pm.hook.blocking_job_store(settings=settings, store=other.store) is None
    fallback = WorkerRuntime(other)
    assert fallback.store is memory and fallback.loop is not None
    job = memory.put(lifecycle.new_job(uuid.uuid4().hex, "unit", {}, []))
    outcome = fallback.run(lambda: fallback.service.begin(job.id, WORKER, DELIVERY, lambda pid: False))
    assert outcome[0] is None and memory.jobs[job.id].state == JobState.RUNNING


def _report_child_runtime(kernel: Kernel, parent_runtime_id: int, answer: multiprocessing.SimpleQueue) -> None:
    runtime = runtime_for(kernel)
    answer.put((id(runtime) != parent_runtime_id, runtime.pid == os.getpid()))


def test_a_forked_child_makes_its_own_runtime(settings: Settings) -> None:
    """A prefork pool child must not use its parent's runtime (the parent's Redis sockets): the
    runtime is dropped at the fork, so the child's first job makes one of its own, with its PID."""
    kernel = Kernel(settings)
    parent = runtime_for(kernel)
    assert runtime_for(kernel) is parent  # one per thread, reused
    context = multiprocessing.get_context("fork")
    answer = context.SimpleQueue()
    child = context.Process(target=_report_child_runtime, args=(kernel, id(parent), answer))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert answer.get() == (True, True)
