"""A few more tries at opening a Redis connection before a request is answered 503.

redis-py gives a pool's connections no retry unless one is configured, so one connect that
times out (seen for a few seconds after `docker compose up` on podman's network, while the
replica's pooled connections kept working) fails the request at once. Only the connect is
retried: a command is never sent twice, because a Lua script that ran before its reply was lost
would run again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.1  # then doubled: at most 0.3 s of waiting when Redis is really down


class RetriedConnect:
    """Mixed in before a redis-py asyncio connection class: its `connect` is tried again on failure."""

    async def connect(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                await super().connect()  # type: ignore[misc]  # the connection class mixed after this one
                return
            except (RedisConnectionError, RedisTimeoutError):
                if attempt == CONNECT_ATTEMPTS:
                    raise
                await asyncio.sleep(backoff)
                backoff *= 2


def retry_connects(pool: aioredis.ConnectionPool) -> aioredis.ConnectionPool:
    """`pool`, its future connections retrying their connect (whatever class the URL chose: TCP,
    TLS or a Unix socket)."""
    base: type[Any] = pool.connection_class
    if not issubclass(base, RetriedConnect):
        pool.connection_class = type(f"Retried{base.__name__}", (RetriedConnect, base), {})
    return pool
