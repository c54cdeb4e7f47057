"""Redis connection failures as the kernel's `StoreUnavailable` (the API answers 503)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from myspinbot import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_on_connection_error(
    method: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Turn Redis connection failures into StoreUnavailable, which the API answers with 503."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            raise StoreUnavailable(f"Redis is unreachable: {error}") from error

    return wrapper
