"""Worker heartbeats, what each worker reported of itself, and named leases, on the store's Redis."""

from __future__ import annotations

import json
import time
from typing import Any

from myspinbot_redis_store.failures import unavailable_on_connection_error
from myspinbot_redis_store.keys import Keys


class WorkerRegistry:
    """The workers part of the JobStore contract, mixed into `RedisJobStore` (same connections)."""

    redis: Any
    keys: Keys
    _lease: Any  # the LEASE script, registered by the store

    @unavailable_on_connection_error
    async def worker_heartbeat(self, worker: str, ttl_seconds: float, info: dict[str, Any] | None = None) -> None:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.keys.workers, {worker: now + ttl_seconds})
        pipe.zremrangebyscore(self.keys.workers, "-inf", now)
        if info is not None:
            pipe.hset(self.keys.worker_info, worker, json.dumps(info))
        await pipe.execute()

    @unavailable_on_connection_error
    async def workers(self) -> list[dict[str, Any]]:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrangebyscore(self.keys.workers, now, "+inf")
        pipe.hgetall(self.keys.worker_info)
        online, infos = await pipe.execute()
        stale = [name for name in infos if name not in set(online)]
        if stale:  # a worker that died without saying goodbye: its details go with its heartbeat
            await self.redis.hdel(self.keys.worker_info, *stale)
        return [{"name": name, **json.loads(infos[name])} if name in infos else {"name": name} for name in online]

    @unavailable_on_connection_error
    async def worker_gone(self, worker: str) -> None:
        """Forget a worker that stopped cleanly."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.keys.workers, worker)
        pipe.hdel(self.keys.worker_info, worker)
        await pipe.execute()

    @unavailable_on_connection_error
    async def worker_online(self, worker: str) -> bool:
        expires = await self.redis.zscore(self.keys.workers, worker)
        return expires is not None and float(expires) > time.time()

    @unavailable_on_connection_error
    async def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        reply = await self._lease(keys=[self.keys.lease(name)], args=[holder, int(ttl_seconds * 1000)])
        return bool(reply)

    @unavailable_on_connection_error
    async def workers_online(self) -> int:
        return int(await self.redis.zcount(self.keys.workers, time.time(), "+inf"))
