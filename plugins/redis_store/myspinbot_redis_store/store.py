"""`RedisJobStore`: the kernel's JobStore contract on Redis (records, events, stats)."""

from __future__ import annotations

import json
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from myspinbot import (
    DURATION_BUCKETS,
    EventName,
    EventsTrimmed,
    Job,
    JobEvent,
    JobPage,
    JobState,
    JobStats,
    QueuedMessage,
    Settings,
    VersionConflict,
    duration_bucket,
    duration_seconds,
    stream_key,
)
from myspinbot_redis_store import scripts
from myspinbot_redis_store.blocking import BlockingRedis
from myspinbot_redis_store.connect_retries import retry_connects
from myspinbot_redis_store.failures import unavailable_on_connection_error
from myspinbot_redis_store.keys import Keys
from myspinbot_redis_store.telemetry import RedisTelemetryStore
from myspinbot_redis_store.workers import WorkerRegistry

RECENT_DURATIONS = 20  # per job type, for queued jobs' start estimates
CANCEL_FLAG_SECONDS = 24 * 3600
LIST_SCAN_BATCH = 200
# Both clients' connections (the API's asyncio pool, a worker thread's synchronous one).
CONNECTION_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "health_check_interval": 15,
    "protocol": 2,
}


class RedisJobStore(WorkerRegistry):
    """Job records, cancel flags, the event stream and statistics on one Redis; `telemetry` holds
    the jobs' metric points, logs and previews on the same connections."""

    def __init__(
        self,
        redis: aioredis.Redis | BlockingRedis,
        *,
        keys: Keys | None = None,
        events_max_len: int = 10_000,
        job_ttl_seconds: int = 7 * 24 * 3600,
        idempotency_seconds: int = 24 * 3600,
        url: str | None = None,
    ) -> None:
        # redis-py's type hints do not model decode_responses=True (every reply here is str),
        # so the client is handled as Any and replies are converted where they are read.
        self.redis: Any = redis
        self.keys = keys or Keys()
        self.events_max_len = events_max_len
        self.job_ttl_seconds = job_ttl_seconds
        self.idempotency_seconds = idempotency_seconds
        self.url = url  # where a blocking twin connects, and the broker create_queued enqueues on
        self._create = redis.register_script(scripts.CREATE)
        self._create_queued = redis.register_script(scripts.CREATE_QUEUED)
        self._discard = redis.register_script(scripts.DISCARD)
        self._save = redis.register_script(scripts.SAVE)
        self._lease = redis.register_script(scripts.LEASE)
        self._create_batch = redis.register_script(scripts.CREATE_BATCH)
        self.telemetry = RedisTelemetryStore(self.redis, self.keys, job_ttl_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisJobStore:
        """A store on MYSPINBOT_REDIS_URL; connections are opened lazily, on first use."""
        # A blocking pool makes bursts wait briefly for a connection instead of failing with
        # "Too many connections" (which the API would answer with 503).
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=64, timeout=5, **CONNECTION_OPTIONS
        )
        retry_connects(pool)
        client = aioredis.Redis(connection_pool=pool)
        return cls(
            client,
            events_max_len=settings.events_max_len,
            job_ttl_seconds=settings.job_ttl_seconds,
            idempotency_seconds=settings.idempotency_seconds,
            url=settings.redis_url,
        )

    def blocking_twin(self) -> RedisJobStore | None:
        """This store on redis-py's synchronous client (the `blocking_job_store` hook): the same
        Redis, keys and limits, each call blocking the calling thread and its coroutine complete
        at its first step. One thread's store: its pool keeps the one connection that thread uses.
        None for a store made on a client without a URL (only `from_settings` records one)."""
        if self.url is None:
            return None
        pool = redis.ConnectionPool.from_url(self.url, **CONNECTION_OPTIONS)
        return RedisJobStore(
            BlockingRedis(redis.Redis(connection_pool=pool)),
            keys=self.keys,
            events_max_len=self.events_max_len,
            job_ttl_seconds=self.job_ttl_seconds,
            idempotency_seconds=self.idempotency_seconds,
            url=self.url,
        )

    @property
    def broker_url(self) -> str | None:
        """The broker is MYSPINBOT_REDIS_URL too (Settings), so a store made from the settings may
        write a job's Celery message with its record (create_queued); one on a bare client may not."""
        return self.url

    # --- records ---

    @unavailable_on_connection_error
    async def ping(self) -> None:
        await self.redis.ping()

    @unavailable_on_connection_error
    async def create(
        self, job: Job, event: JobEvent, idempotency_key: str | None = None, *, record: str | None = None
    ) -> tuple[Job, bool]:
        return await self._write_new(self._create, job, event, idempotency_key, record)

    @unavailable_on_connection_error
    async def create_queued(
        self,
        job: Job,
        event: JobEvent,
        message: QueuedMessage,
        idempotency_key: str | None = None,
        *,
        record: str | None = None,
    ) -> tuple[Job, bool]:
        if message.broker != self.broker_url:  # JobService checks; a message for another Redis must not land here
            raise ValueError(f"this store enqueues on {self.broker_url!r} only, not on {message.broker!r}")
        pushed = ([message.paused, message.live, message.held], [message.queue, message.payload])
        return await self._write_new(self._create_queued, job, event, idempotency_key, record, pushed)

    async def _write_new(
        self,
        script: Any,
        job: Job,
        event: JobEvent,
        idempotency_key: str | None,
        record: str | None,
        extra: tuple[list[str], list[Any]] = ([], []),
    ) -> tuple[Job, bool]:
        k = self.keys
        idem_key = k.idempotency(job.type, idempotency_key) if idempotency_key else ""
        reply = await script(
            keys=[
                k.job(job.id),
                k.all_jobs,
                k.by_state(job.state),
                k.by_type(job.type),
                k.stats,
                k.events,
                k.sequence,
                idem_key,
                k.by_owner(job.owner),
                k.active_of(job.owner),
                *extra[0],
            ],
            args=[
                job.id,
                job.state.value,
                job.type,
                record if record is not None else job.model_dump_json(),
                str(event.event),
                self.events_max_len,
                self.idempotency_seconds,
                job.owner,
                *extra[1],
            ],
        )
        if int(reply[0]) == 0:
            return Job.model_validate_json(reply[1]), False
        return job, True

    @unavailable_on_connection_error
    async def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        k = self.keys
        job_type = await self.redis.hget(k.job(job_id), "type")
        if job_type is None:
            return
        idem_key = k.idempotency(job_type, idempotency_key) if idempotency_key else ""
        await self._discard(
            keys=[k.job(job_id), k.all_jobs, k.by_type(job_type), k.stats, idem_key],
            args=[job_id, job_type, k.by_state(""), k.by_owner(""), k.active_of("")],
        )

    @unavailable_on_connection_error
    async def get(self, job_id: str) -> Job | None:
        raw = await self.redis.hget(self.keys.job(job_id), "json")
        return Job.model_validate_json(raw) if raw else None

    @unavailable_on_connection_error
    async def list_jobs(
        self,
        *,
        state: JobState | None = None,
        job_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        owner: str | None = None,
    ) -> JobPage:
        k = self.keys
        if owner is not None:
            index = k.by_owner(owner)
        else:
            index = k.by_state(state) if state else k.by_type(job_type) if job_type else k.all_jobs
        need_type_filter = bool(job_type and (state or owner is not None))
        need_state_filter = bool(state and owner is not None)
        upper = f"({int(cursor)}" if cursor else "+inf"
        found: list[tuple[Job, int]] = []
        while len(found) <= limit:
            batch = await self.redis.zrevrangebyscore(
                index, upper, "-inf", start=0, num=LIST_SCAN_BATCH, withscores=True
            )
            if not batch:
                break
            records = await self._records([member for member, _ in batch])
            stale = []
            for (job_id, score), raw in zip(batch, records, strict=True):
                if raw is None:
                    stale.append(job_id)  # expired record: drop it from the index lazily
                    continue
                job = Job.model_validate_json(raw)
                if need_type_filter and job.type != job_type:
                    continue
                if need_state_filter and job.state != state:
                    continue
                found.append((job, int(score)))
                if len(found) > limit:
                    break
            if stale:
                await self.redis.zrem(index, *stale)
            upper = f"({int(batch[-1][1])}"
            if len(batch) < LIST_SCAN_BATCH:
                break
        page = found[:limit]
        next_cursor = str(page[-1][1]) if len(found) > limit and page else None
        return JobPage(jobs=[job for job, _ in page], next_cursor=next_cursor)

    async def _records(self, job_ids: list[str]) -> list[str | None]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(self.keys.job(job_id), "json")
        return cast(list[str | None], await pipe.execute())

    @unavailable_on_connection_error
    async def existing(self, job_ids: list[str]) -> set[str]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self.keys.job(job_id))
        found = await pipe.execute()
        return {job_id for job_id, exists in zip(job_ids, found, strict=True) if exists}

    @unavailable_on_connection_error
    async def active_count(self, owner: str) -> int:
        return int(await self.redis.scard(self.keys.active_of(owner)))

    @unavailable_on_connection_error
    async def active_jobs(self, limit: int = 500, owner: str | None = None) -> list[Job]:
        if owner is not None:
            ids = await self._newest_active_of(owner, limit)
        else:
            ids = []
            for state in (JobState.RUNNING, JobState.QUEUED):
                ids.extend(await self.redis.zrevrange(self.keys.by_state(state), 0, limit - 1))
        jobs = [Job.model_validate_json(raw) for raw in await self._records(ids) if raw]
        jobs.sort(key=lambda job: job.created_at, reverse=True)
        return jobs[:limit]

    async def _newest_active_of(self, owner: str, limit: int) -> list[str]:
        """The ids of an owner's newest `limit` queued or running jobs, from the owner's active set
        (kept by the scripts for the per-user cap): no other user's record is read."""
        ids = list(await self.redis.smembers(self.keys.active_of(owner)))
        if len(ids) <= limit:
            return ids
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(self.keys.job(job_id), "seq")
        order = await pipe.execute()
        ranked = sorted(zip(ids, order, strict=True), key=lambda pair: int(pair[1] or 0), reverse=True)
        return [job_id for job_id, _ in ranked[:limit]]

    @unavailable_on_connection_error
    async def save(self, job: Job, event: EventName, expected_version: int) -> JobEvent:
        k = self.keys
        saved = job.model_copy(update={"version": expected_version + 1})
        finished = saved.state.finished
        bucket_field, duration = "", 0.0
        if finished and (seconds := duration_seconds(saved)) is not None:
            bucket_field, duration = (
                f"dur_bucket|{saved.type}|{duration_bucket(seconds)}",
                seconds,
            )
        reply = await self._save(
            keys=[
                k.job(job.id),
                k.events,
                k.stats,
                k.cancel(job.id),
                k.recent_durations(job.type),
                k.batch_pending(job.batch_id) if job.batch_id else "",
                k.batch(job.batch_id) if job.batch_id else "",
            ],
            args=[
                expected_version,
                saved.version,
                saved.state.value,
                saved.model_dump_json(),
                event.value,
                self.events_max_len,
                self.job_ttl_seconds if finished else 0,
                k.by_state(""),
                job.id,
                job.type,
                "1" if finished else "0",
                bucket_field,
                repr(duration),
                RECENT_DURATIONS,
                k.active_of(""),
            ],
        )
        status = int(reply[0])
        if status == -1:
            raise KeyError(job.id)
        if status == 0:
            raise VersionConflict(f"job {job.id} is at version {reply[1]}, not {expected_version}")
        return JobEvent(
            id=reply[1],
            event=event,
            job=saved,
            cancel_requested=bool(int(reply[2])),
            batch_finished=bool(int(reply[3])),
        )

    # --- batches ---

    @unavailable_on_connection_error
    async def create_batch(self, batch_id: str, record: dict[str, Any], job_ids: list[str]) -> None:
        k = self.keys
        await self._create_batch(
            keys=[k.batch(batch_id), k.batch_pending(batch_id)], args=[json.dumps(record), *job_ids]
        )

    @unavailable_on_connection_error
    async def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.batch(batch_id))
        return cast(dict[str, Any], json.loads(raw)) if raw else None

    @unavailable_on_connection_error
    async def discard_batch(self, batch_id: str) -> None:
        await self.redis.delete(self.keys.batch(batch_id), self.keys.batch_pending(batch_id))

    @unavailable_on_connection_error
    async def claim_key(self, name: str, value: str, ttl_seconds: float) -> str | None:
        key = self.keys.claim(name)
        if await self.redis.set(key, value, nx=True, ex=max(1, int(ttl_seconds))):
            return None
        return cast(str | None, await self.redis.get(key)) or value

    @unavailable_on_connection_error
    async def release_key(self, name: str) -> None:
        await self.redis.delete(self.keys.claim(name))

    @unavailable_on_connection_error
    async def get_many(self, job_ids: list[str]) -> list[Job | None]:
        return [Job.model_validate_json(raw) if raw else None for raw in await self._records(job_ids)]

    # --- cancel flags ---

    @unavailable_on_connection_error
    async def request_cancel(self, job_id: str) -> None:
        await self.redis.set(self.keys.cancel(job_id), "1", ex=CANCEL_FLAG_SECONDS)

    @unavailable_on_connection_error
    async def cancel_requested(self, job_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.cancel(job_id)))

    # --- events ---

    @unavailable_on_connection_error
    async def latest_event_id(self) -> str:
        last = await self.redis.xrevrange(self.keys.events, count=1)
        return str(last[0][0]) if last else "0-0"

    @unavailable_on_connection_error
    async def events_after(self, last_id: str, count: int = 1000) -> list[JobEvent]:
        if last_id not in ("0", "0-0"):
            first = await self.redis.xrange(self.keys.events, count=1)
            # Conservative: an id older than the oldest kept may have lost events after it.
            if first and stream_key(last_id) < stream_key(first[0][0]):
                raise EventsTrimmed(last_id)
        entries = await self.redis.xrange(self.keys.events, min=f"({last_id}", count=count)
        return [self._event(entry_id, fields) for entry_id, fields in entries]

    @unavailable_on_connection_error
    async def read_events(self, last_id: str, block_ms: int, count: int = 500) -> list[JobEvent]:
        reply = await self.redis.xread({self.keys.events: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return [self._event(entry_id, fields) for entry_id, fields in entries]

    @staticmethod
    def _event(entry_id: str, fields: dict[str, str]) -> JobEvent:
        return JobEvent(
            id=entry_id,
            event=EventName(fields["n"]),
            job=Job.model_validate_json(fields["j"]),
        )

    # --- statistics ---

    @unavailable_on_connection_error
    async def stats(self) -> JobStats:
        raw: dict[str, str] = await self.redis.hgetall(self.keys.stats)
        stats = JobStats()
        buckets: dict[str, list[int]] = {}
        for field, value in raw.items():
            kind, _, rest = field.partition("|")
            if kind == "submitted":
                stats.submitted[rest] = int(value)
            elif kind == "running":
                stats.running[rest] = max(0, int(value))
            elif kind == "finished":
                job_type, _, state = rest.rpartition("|")
                stats.finished[(job_type, state)] = int(value)
            elif kind == "dur_bucket":
                job_type, _, index = rest.rpartition("|")
                counts = buckets.setdefault(job_type, [0] * (len(DURATION_BUCKETS) + 1))
                counts[min(int(index), len(DURATION_BUCKETS))] += int(value)
            elif kind == "dur_sum":
                stats.duration_sum[rest] = float(value)
            elif kind == "dur_count":
                stats.duration_count[rest] = int(value)
            elif kind == "telemetry_points":
                stats.telemetry_points = int(value)
            elif kind == "telemetry_dropped":
                stats.telemetry_dropped = int(value)
        for job_type, counts in buckets.items():
            running_total, cumulative = 0, []
            for count in counts:
                running_total += count
                cumulative.append(running_total)
            stats.duration_buckets[job_type] = cumulative
        return stats

    @unavailable_on_connection_error
    async def recent_durations(self, job_types: list[str]) -> dict[str, list[float]]:
        pipe = self.redis.pipeline(transaction=False)
        for job_type in job_types:
            pipe.lrange(self.keys.recent_durations(job_type), 0, -1)
        replies = await pipe.execute()
        return {
            job_type: [float(value) for value in values] for job_type, values in zip(job_types, replies, strict=True)
        }

    async def close(self) -> None:
        await self.redis.aclose()
