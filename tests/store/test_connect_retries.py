"""The store's connections try their connect again before giving up; commands are never re-sent.

Logic only (a stand-in connection class whose connect fails a given number of times); the
container tier's down/up test meets the real case.
"""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from myspinbot_redis_store import connect_retries
from myspinbot_redis_store.connect_retries import CONNECT_ATTEMPTS, RetriedConnect, retry_connects


class FlakyConnect:
    """Fails its first `failures` connects with `error`, then connects."""

    failures = 0
    error: Exception = RedisTimeoutError("Timeout connecting to server")

    def __init__(self) -> None:
        self.tries = 0

    async def connect(self) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error


class Retried(RetriedConnect, FlakyConnect):
    pass


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect_retries, "FIRST_BACKOFF_SECONDS", 0.0)


@pytest.mark.parametrize("error", [RedisTimeoutError("timeout"), RedisConnectionError("refused")])
def test_a_connect_that_fails_then_works_is_tried_again(error: Exception) -> None:
    connection = Retried()
    connection.failures, connection.error = CONNECT_ATTEMPTS - 1, error
    asyncio.run(connection.connect())
    assert connection.tries == CONNECT_ATTEMPTS


def test_a_connect_that_keeps_failing_raises_after_the_last_attempt() -> None:
    connection = Retried()
    connection.failures = CONNECT_ATTEMPTS
    with pytest.raises(RedisTimeoutError):
        asyncio.run(connection.connect())
    assert connection.tries == CONNECT_ATTEMPTS


def test_other_errors_are_not_retried() -> None:
    connection = Retried()
    connection.failures, connection.error = 5, ValueError("not a connection failure")
    with pytest.raises(ValueError):
        asyncio.run(connection.connect())
    assert connection.tries == 1


def test_the_pools_connections_of_every_scheme_retry_their_connect() -> None:
    for url in ("redis://127.0.0.1:1/0", "rediss://127.0.0.1:1/0", "unix:///tmp/none.sock"):
        pool = retry_connects(aioredis.ConnectionPool.from_url(url))
        kind = pool.connection_class
        assert issubclass(kind, RetriedConnect), url
        retry_connects(pool)
        assert pool.connection_class is kind  # not wrapped twice
