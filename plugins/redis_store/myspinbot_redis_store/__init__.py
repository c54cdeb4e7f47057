"""The Redis job store plugin."""

from __future__ import annotations

from myspinbot import Settings, hookimpl
from myspinbot_redis_store.store import RedisJobStore

__all__ = ["RedisJobStore", "job_store"]


@hookimpl
def job_store(settings: Settings) -> RedisJobStore:
    """Provide the job store on the Redis at MYSPINBOT_REDIS_URL."""
    return RedisJobStore.from_settings(settings)
