"""The Redis job store plugin."""

from __future__ import annotations

from myspinbot import JobStore, Settings, hookimpl
from myspinbot_redis_store.identity import RedisIdentityStore
from myspinbot_redis_store.store import RedisJobStore

__all__ = ["RedisIdentityStore", "RedisJobStore", "blocking_job_store", "identity_store", "job_store"]


@hookimpl
def job_store(settings: Settings) -> RedisJobStore:
    """Provide the job store on the Redis at MYSPINBOT_REDIS_URL."""
    return RedisJobStore.from_settings(settings)


@hookimpl
def blocking_job_store(settings: Settings, store: JobStore) -> RedisJobStore | None:
    """Provide the store on redis-py's synchronous client (same Redis, keys and limits), for a
    worker thread; None when the process's store is another plugin's."""
    return store.blocking_twin() if isinstance(store, RedisJobStore) else None


@hookimpl
def identity_store(settings: Settings) -> RedisIdentityStore:
    """Provide users and API keys on the same Redis as the jobs."""
    return RedisIdentityStore.from_settings(settings)
