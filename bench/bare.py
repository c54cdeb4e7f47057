"""The baselines: a bare Celery app with no-op tasks and a plain FastAPI `GET /health`.

Both read BENCH_REDIS_URL. Run as `celery -A bench.bare:celery_app worker` and
`uvicorn --factory bench.bare:health_app`, with the same pool and server options as ours.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import redis
import redis.asyncio as aioredis
from celery import Celery
from fastapi import FastAPI, Request, Response

from myspinbot.core import lifecycle
from myspinbot.core.jobs import JobState
from myspinbot.core.lifecycle import new_job
from myspinbot.core.queueing import Priority
from myspinbot.core.settings import Settings
from myspinbot.worker.wire import task_message
from myspinbot_redis_store.keys import Keys
from myspinbot_redis_store.scripts import SAVE
from myspinbot_redis_store.store import RECENT_DURATIONS
from myspinbot_video_generate.params import GenerateParams

BARE_QUEUE = "bare"
BARE_SUBMIT_QUEUE = "bare_submit"

# The floor of case 4: what the contract alone costs a no-op job, a durable record and an event per
# transition. One Lua call writes a record of a job's size and appends it to a stream, as our
# store's save does (without its indexes and statistics); `reads` HGETs a record first.
RECORD_AND_EVENT = """
redis.call('HSET', KEYS[1], 'json', ARGV[1])
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'j', ARGV[1])
"""
RECORD = json.dumps({"id": "0" * 32, "type": "noop", "state": "running", "params": {}, "padding": "x" * 480})
_store: dict[int, Any] = {}

# The tightest floor of case 4: our store's own SAVE script (record, state indexes, statistics,
# durations, cancel flag, event), run twice per job as a zero-step job's start and finish are, on a
# record the fill step laid out as our CREATE does. What is left above it is our Python.
FLOOR_PREFIX = "benchfloor"
FLOOR_SETTINGS = Settings(_env_file=None)  # the store's defaults: stream length, TTL
_saves: dict[int, Any] = {}


def floor_records(job_id: str) -> tuple[str, str]:
    """A noop job's record as our worker saves it when it starts and when it has succeeded."""
    started = lifecycle.start(new_job(job_id, "noop", {}, []), "celery@bench-floor").model_copy(update={"version": 1})
    succeeded = lifecycle.finish(started, JobState.SUCCEEDED).model_copy(update={"version": 2})
    return started.model_dump_json(), succeeded.model_dump_json()


def lay_out_floor_record(pipe: Any, job_id: str, seq: int) -> None:
    """The fields SAVE reads, as our CREATE leaves them for a queued job."""
    pipe.hset(
        f"{FLOOR_PREFIX}:job:{job_id}",
        mapping={"version": 0, "state": "queued", "type": "noop", "seq": seq, "owner": "", "json": "{}"},
    )
    pipe.zadd(f"{FLOOR_PREFIX}:jobs:state:queued", {job_id: seq})


def floor_saves(job_id: str) -> None:
    """The start and the finish of one zero-step job: two SAVE calls with our store's arguments."""
    save, records = save_client()
    keys = [
        f"{FLOOR_PREFIX}:job:{job_id}",
        f"{FLOOR_PREFIX}:events",
        f"{FLOOR_PREFIX}:stats",
        f"{FLOOR_PREFIX}:cancel:{job_id}",
        f"{FLOOR_PREFIX}:durations:noop",
        "",
        "",
    ]
    states = f"{FLOOR_PREFIX}:jobs:state:"
    active = f"{FLOOR_PREFIX}:jobs:active:"
    started, succeeded = records
    max_len, ttl = FLOOR_SETTINGS.events_max_len, FLOOR_SETTINGS.job_ttl_seconds
    save(keys=keys, args=[0, 1, "running", started, "job.started", max_len, 0, states, job_id, "noop", "0", "",
                          "0.0", RECENT_DURATIONS, active])  # fmt: skip
    save(keys=keys, args=[1, 2, "succeeded", succeeded, "job.succeeded", max_len, ttl, states, job_id, "noop", "1",
                          "dur_bucket|noop|0.1", "0.001", RECENT_DURATIONS, active])  # fmt: skip


def save_client() -> tuple[Any, tuple[str, str]]:
    """This process's SAVE script on its own client, and the records it writes (made after the fork)."""
    found = _saves.get(os.getpid())
    if found is None:
        client = redis.Redis.from_url(redis_url(), protocol=2)
        found = _saves[os.getpid()] = (client.register_script(SAVE), floor_records("0" * 32))
    return found


# The floor of case 1: what a submit's contract alone costs behind FastAPI, the same parameter
# validation, a record and its event and the very message our publisher writes, in one Lua call.
SUBMIT_FLOOR_QUEUE = "bare_submit_floor"
RECORD_EVENT_AND_MESSAGE = """
redis.call('HSET', KEYS[1], 'json', ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'j', ARGV[1])
return redis.call('LPUSH', KEYS[3], ARGV[2])
"""


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def make_celery(url: str | None = None) -> Celery:
    """Celery with its defaults, a Redis broker and (for the round trip only) a Redis backend."""
    url = url or redis_url()
    app = Celery("bench_bare", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_default_queue=BARE_QUEUE,
    )
    if os.environ.get("BENCH_ACKS_LATE") == "1":  # the reliability settings our worker runs with
        app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1)

    @app.task(name="bench.noop", ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def noop() -> None:
        return None

    @app.task(name="bench.echo", shared=False)  # type: ignore[untyped-decorator]
    def echo() -> int:
        return 1

    @app.task(name="bench.contract", ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def contract(job_id: str, reads: int, writes: int) -> None:
        client, script = store_client(url)
        for _ in range(reads):
            client.hget(f"bench:job:{job_id}", "json")
        for _ in range(writes):
            script(keys=[f"bench:job:{job_id}", "bench:events"], args=[RECORD])

    @app.task(name="bench.store_contract", ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def store_contract(job_id: str) -> None:
        floor_saves(job_id)

    return app


def store_client(url: str) -> tuple[Any, Any]:
    """This process's Redis client and script (made after the pool forked)."""
    found = _store.get(os.getpid())
    if found is None:
        client = redis.Redis.from_url(url, protocol=2)
        found = _store[os.getpid()] = (client, client.register_script(RECORD_AND_EVENT))
    return found


celery_app = make_celery()


def health_app() -> FastAPI:
    """The plainest FastAPI app: one `GET /health` that answers a constant, `GET /health/redis`
    that makes our /health's one Redis call, and `POST /submit`,
    the submit floor (validation, one Lua call for record + event + message, the record back)."""
    app = FastAPI()
    client = aioredis.Redis.from_url(redis_url(), protocol=2)
    script = client.register_script(RECORD_EVENT_AND_MESSAGE)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    workers_key = Keys().workers

    # What our /health's contract asks of Redis, one round trip counting the live workers, and
    # nothing else: a Redis busy with other clients delays this answer as it delays ours.
    @app.get("/health/redis")
    async def health_redis() -> dict[str, object]:
        return {"status": "ok", "workers": await client.zcount(workers_key, time.time(), "+inf")}

    @app.post("/submit", status_code=202)
    async def submit(request: Request) -> Response:
        params = GenerateParams.model_validate_json(await request.body())
        job_id = uuid.uuid4().hex
        fields = {"id": job_id, "type": "generate", "state": "queued", "created": time.time()}
        record = json.dumps({**fields, "params": params.model_dump()})
        message = task_message(
            "myspinbot.generate", job_id, SUBMIT_FLOOR_QUEUE, Priority.NORMAL, origin="floor", reply_to="floor"
        )
        await script(keys=[f"bench:floor:{job_id}", "bench:floor-events", SUBMIT_FLOOR_QUEUE], args=[record, message])
        return Response(record, status_code=202, media_type="application/json")

    return app
