"""The store's code on redis-py's synchronous client, for the `blocking_job_store` hook.

`RedisJobStore` is written once, against redis-py's asyncio client. A worker thread has no use
for an event loop: each of its store calls is one request and one reply. `BlockingRedis` stands
in for the asyncio client with the synchronous one: every command runs at once, blocking the
thread, and what it returns is an awaitable that is already complete. So the very same store
methods, the same Lua scripts and the same `unavailable_on_connection_error` (redis-py raises
the same exception classes from both clients) run without an event loop, and each of their
coroutines ends at its first step (`myspinbot.run_blocking`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

import redis

T = TypeVar("T")


class Done(Generic[T]):
    """An awaitable that is already complete: `await` gives its value without suspending."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # unreachable: makes this a generator that ends at its first step


class BlockingRedis:
    """redis-py's synchronous client behind the asyncio client's interface (the part the store uses)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Done[Any]]:
        # Any command (hget, xadd, ...): run now, hand back its reply as a finished awaitable.
        # Kept on the instance, so the lookup is made once per command name.
        command = getattr(self.client, name)

        def run(*args: Any, **kwargs: Any) -> Done[Any]:
            return Done(command(*args, **kwargs))

        setattr(self, name, run)
        return run

    def pipeline(self, transaction: bool = True) -> BlockingPipeline:
        return BlockingPipeline(self.client.pipeline(transaction=transaction))

    def register_script(self, script: str) -> Callable[..., Done[Any]]:
        registered = self.client.register_script(script)

        def run(keys: list[Any] | None = None, args: list[Any] | None = None) -> Done[Any]:
            return Done(registered(keys=keys, args=args))

        return run

    def aclose(self) -> Done[None]:
        self.client.close()
        return Done(None)


class BlockingPipeline:
    """A synchronous pipeline whose `execute` is awaited like the asyncio pipeline's."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)  # commands are only queued until execute

    def execute(self) -> Done[list[Any]]:
        return Done(self.pipeline.execute())
