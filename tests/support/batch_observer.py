"""A test plugin that records every `batch_finished` call in Redis, so a test can see it from outside."""

from __future__ import annotations

import redis

from myspinbot import Job, Kernel, hookimpl

FINISHED_BATCHES = "test:batches-finished"


@hookimpl
def batch_finished(batch_id: str, last_job: Job, kernel: Kernel) -> None:
    client = redis.Redis.from_url(kernel.settings.redis_url)
    try:
        client.rpush(FINISHED_BATCHES, f"{batch_id}:{last_job.id}")
    finally:
        client.close()
