"""The Redis job store plugin."""

from __future__ import annotations

from myspinbot import Settings, hookimpl
from myspinbot_redis_store.identity import RedisIdentityStore
from myspinbot_redis_store.store import RedisJobStore

__all__ = ["RedisIdentityStore", "RedisJobStore", "identity_store", "job_store"]


@hookimpl
def job_store(settings: Settings) -> RedisJobStore:
    """Provide the job store on the Redis at MYSPINBOT_REDIS_URL."""
    return RedisJobStore.from_settings(settings)


@hookimpl
def identity_store(settings: Settings) -> RedisIdentityStore:
    """Provide users and API keys on the same Redis as the jobs."""
    return RedisIdentityStore.from_settings(settings)
