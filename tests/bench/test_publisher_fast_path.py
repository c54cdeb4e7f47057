"""The wire module's publish path (a Lua LPUSH below kombu, no Celery app) writes what a real Celery worker runs."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import pytest
import redis
from pydantic import BaseModel

from myspinbot import EventName, JobEvent, JobState, JobType, Settings
from myspinbot.cli.procs import free_port
from myspinbot.core.job_service import JobService
from myspinbot.core.kernel import Kernel
from myspinbot.core.lifecycle import new_job
from myspinbot.core.queueing import Priority
from myspinbot.worker.app import create_celery
from myspinbot.worker.wire import (
    KOMBU_PRIORITY,
    PAUSED_QUEUES_KEY,
    QUEUED_HEADER,
    BrokerUnavailable,
    JobPublisher,
    held_queue,
    sub_queue,
)
from tests.support.processes import ServiceProcess


class NoParams(BaseModel):
    pass


UNCONSUMED = JobType(name="envelope-check", title="Envelope check", params=NoParams, run=lambda ctx, params: None)


def decoded(raw: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(raw)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


@pytest.mark.parametrize("hinted", [False, True], ids=["id only", "with the queued record"])
async def test_a_real_worker_runs_jobs_published_by_the_wire_module(
    settings: Settings, worker: ServiceProcess, hinted: bool
) -> None:
    """Jobs enqueued only through the wire module (no Celery app in the publisher), one at each
    priority, are taken and run to success by a real Celery worker: with the job id alone, and
    with the queued record as the start's hint (what the API's submit sends)."""
    kernel = Kernel(settings)
    publisher = JobPublisher(settings)
    store = kernel.store
    jobs = [new_job(uuid.uuid4().hex, "sleepy", {"steps": 2, "step_seconds": 0}, []) for _ in Priority]
    try:
        for job, priority in zip(jobs, Priority, strict=True):
            await store.create(job, JobEvent(event=EventName.QUEUED, job=job))
            # The API's copy equals the record. Here it says 3 steps where the record says 2, only
            # to see which one the worker started from: the copy, without reading the record.
            copy = job.model_copy(update={"params": {"steps": 3, "step_seconds": 0}})
            queued = copy.model_dump_json() if hinted else None
            await publisher.publish(kernel.job_types["sleepy"], job.id, priority, queued=queued)
        deadline = time.monotonic() + 30
        found = [await store.get(job.id) for job in jobs]
        while not all(job is not None and job.state.finished for job in found) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            found = [await store.get(job.id) for job in jobs]
        assert [job.state if job else None for job in found] == [JobState.SUCCEEDED] * len(jobs), worker.log_tail()
        assert all(job is not None and job.progress == 1.0 for job in found)
        assert all(job is not None and job.attempts == 1 for job in found), "each started once"
        steps = 3 if hinted else 2  # started from the message's copy, or from the record read
        assert [job.result if job else None for job in found] == [{"steps": steps}] * len(jobs)
    finally:
        publisher.close()
        await store.close()


@pytest.mark.parametrize("hinted", [False, True], ids=["id only", "with the queued record"])
@pytest.mark.parametrize("priority", list(Priority))
async def test_the_envelope_is_the_one_kombu_writes(
    settings: Settings, redis_url: str, priority: Priority, hinted: bool
) -> None:
    """Same envelope, headers, properties and body as `send_task`, on the same priority
    sub-queue, apart from per-message and per-thread ids (delivery tag, origin, reply_to); with
    the queued record in our header, as `send_task(headers={...})` writes it."""
    celery = create_celery(settings)  # only to have kombu write its own message, for comparison
    publisher = JobPublisher(settings)
    queue = f"{UNCONSUMED.queue}-{uuid.uuid4().hex[:8]}"
    job_type = JobType(name=UNCONSUMED.name, title=UNCONSUMED.title, params=NoParams, run=UNCONSUMED.run, queue=queue)
    job_id = uuid.uuid4().hex
    queued = new_job(job_id, job_type.name, {}, []).model_dump_json() if hinted else None
    extra_headers = {QUEUED_HEADER: queued} if queued else {}
    client = redis.Redis.from_url(redis_url)
    try:
        step = KOMBU_PRIORITY[priority]
        await asyncio.to_thread(
            celery.send_task,
            job_type.task_name,
            args=[job_id],
            headers=extra_headers,
            task_id=job_id,
            queue=queue,
            priority=step,
        )
        await publisher.publish(job_type, job_id, priority, queued=queued)
        theirs, ours = (decoded(raw) for raw in client.rpop(sub_queue(queue, step), 2) or [])  # oldest first
    finally:
        client.delete(sub_queue(queue, step), f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()
        publisher.close()
    assert ours.keys() == theirs.keys()
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    assert ours["body"] == theirs["body"] == [[job_id], {}, embed]
    assert ours["headers"].get(QUEUED_HEADER) == queued
    for part, per_message in (("headers", {"origin"}), ("properties", {"delivery_tag", "reply_to"})):
        assert ours[part].keys() == theirs[part].keys(), part
        same = {key: value for key, value in ours[part].items() if key not in per_message}
        assert same == {key: value for key, value in theirs[part].items() if key not in per_message}, part
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]


def test_each_event_loop_gets_its_own_connection(settings: Settings, redis_url: str) -> None:
    """Publishing from a second event loop (a second TestClient, say) works after the first closed."""
    queue = f"{UNCONSUMED.queue}-{uuid.uuid4().hex[:8]}"
    job_type = JobType(name=UNCONSUMED.name, title=UNCONSUMED.title, params=NoParams, run=UNCONSUMED.run, queue=queue)
    publisher = JobPublisher(settings)
    for _ in range(2):
        asyncio.run(publisher.publish(job_type, uuid.uuid4().hex))
    client = redis.Redis.from_url(redis_url)
    normal = sub_queue(queue, KOMBU_PRIORITY[Priority.NORMAL])
    try:
        assert client.llen(normal) == 2
    finally:
        client.delete(normal)
        client.close()


async def test_an_unreachable_broker_raises_broker_unavailable(settings: Settings) -> None:
    """With nothing listening on the broker's port, publish fails fast with BrokerUnavailable."""
    dead = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    publisher = JobPublisher(dead)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        await publisher.publish(UNCONSUMED, uuid.uuid4().hex)
    assert time.monotonic() - started < 10
    publisher.close()


class RefusingQueue:
    """A publisher whose publish must not be called: the store writes the message itself."""

    def __init__(self, publisher: JobPublisher) -> None:
        self.message = publisher.message

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the queueing store should have written the message with the record")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("paused", [False, True], ids=["live queue", "paused queue"])
async def test_the_store_writes_the_publishers_message_with_the_record(
    settings: Settings, redis_url: str, paused: bool
) -> None:
    """On the Redis store, a submit is one script: the record and its event, and the very message
    `publish` writes (on the live sub-queue, or the held list of a paused queue), ids apart; an
    idempotent repeat writes and pushes nothing."""
    kernel = Kernel(settings)
    publisher = JobPublisher(settings)
    service = JobService.of(kernel)
    assert service.queueing_store is not None, "the store made from the settings enqueues on its own Redis"
    queue = f"{UNCONSUMED.queue}-{uuid.uuid4().hex[:8]}"
    job_type = JobType(name=UNCONSUMED.name, title=UNCONSUMED.title, params=NoParams, run=UNCONSUMED.run, queue=queue)
    step = KOMBU_PRIORITY[Priority.HIGH]
    target = held_queue(queue, step) if paused else sub_queue(queue, step)
    client = redis.Redis.from_url(redis_url)
    if paused:
        client.sadd(PAUSED_QUEUES_KEY, queue)
    try:
        job = new_job(uuid.uuid4().hex, job_type.name, {}, [], queue=queue, priority=Priority.HIGH)
        record = job.model_dump_json()
        key = f"someone/{uuid.uuid4().hex}"
        stored, created = await service.submit(job, job_type, RefusingQueue(publisher), key, record=record)
        assert created and stored == job
        assert await kernel.store.get(job.id) == job
        repeat = new_job(uuid.uuid4().hex, job_type.name, {}, [], queue=queue, priority=Priority.HIGH)
        assert await service.submit(repeat, job_type, RefusingQueue(publisher), key) == (job, False)
        assert await kernel.store.get(repeat.id) is None
        await publisher.publish(job_type, job.id, Priority.HIGH, queued=record)
        # Oldest first; exactly two (the repeat pushed nothing), and nothing on the other list.
        ours, published = (decoded(raw) for raw in client.rpop(target, 3) or [])
        assert client.llen(sub_queue(queue, step) if paused else held_queue(queue, step)) == 0
    finally:
        client.srem(PAUSED_QUEUES_KEY, queue)
        client.delete(target)
        client.close()
        publisher.close()
        await kernel.store.close()
    assert ours["headers"][QUEUED_HEADER] == record
    assert ours["headers"] == published["headers"]
    assert ours["body"] == published["body"]
    tags = {"delivery_tag"}
    assert {k: v for k, v in ours["properties"].items() if k not in tags} == {
        k: v for k, v in published["properties"].items() if k not in tags
    }
