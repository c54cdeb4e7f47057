"""Handing jobs to Celery without blocking the API's event loop."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis.asyncio as aioredis
from celery import Celery

from myspinbot.core.job_service import BrokerUnavailable
from myspinbot.core.jobtypes import JobType
from myspinbot.core.queueing import (
    KOMBU_PRIORITY,
    PAUSED_QUEUES_KEY,
    Priority,
    held_queue,
    sub_queue,
)

log = logging.getLogger(__name__)

# KEYS: paused queues set, live list, held list; ARGV: queue name, message. A paused queue's
# message goes to its held list, which no worker reads (worker/broker_queues.py resumes it).
PUBLISH = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[3], ARGV[2])
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""

__all__ = ["BrokerUnavailable", "JobPublisher"]


class JobPublisher:
    """Publishes one Celery message per job, with `task_id` = job id, on the job type's queue.

    On a Redis broker the message is one LPUSH from the event loop through an asyncio Redis
    client: the envelope kombu's Redis transport writes, around the headers and body that
    Celery's own `as_task_v2` builds. kombu's publish is blocking and builds a Redis client per
    call; run on a thread pool it was the largest share of a submit's CPU and held the GIL
    against the event loop (docs/performance.md has the profiles; tests/bench/ proves a real
    Celery worker runs what this path writes). Any other broker goes through kombu on a small
    thread pool, off the event loop.
    """

    def __init__(self, celery: Celery, threads: int = 8) -> None:
        self.celery = celery
        self.threads = threads
        self.executor: ThreadPoolExecutor | None = None
        url = str(celery.conf.broker_url or "")
        self.redis_url = url if url.startswith(("redis://", "rediss://", "unix://")) else ""
        # kombu puts this in front of every key it writes, queues included
        self.key_prefix = str((celery.conf.broker_transport_options or {}).get("global_keyprefix", ""))
        self.redis: Any = None
        self._publish_script: Any = None
        self._redis_loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.origin = f"myspinbot-api@{uuid.uuid4().hex[:8]}"

    async def publish(self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL) -> None:
        """Enqueue the job's task on the sub-queue of its priority (held while the queue is
        paused); raise BrokerUnavailable when the broker cannot take it."""
        try:
            if self.redis_url:
                step = KOMBU_PRIORITY[priority]
                queue = job_type.queue
                keys = [
                    self.key(PAUSED_QUEUES_KEY),
                    self.key(sub_queue(queue, step)),
                    self.key(held_queue(queue, step)),
                ]
                self.client()  # (re)made for this loop, with its script
                await self._publish_script(keys=keys, args=[queue, self.envelope(job_type, job_id, priority)])
            else:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor(), self._send, job_type, job_id, priority)
        except Exception as error:  # redis-py's or kombu's errors alike: nothing was queued
            log.warning("could not enqueue job %s: %s", job_id, error)
            raise BrokerUnavailable(str(error) or type(error).__name__) from error

    def key(self, name: str) -> str:
        """A broker key as kombu names it (its global key prefix in front)."""
        return self.key_prefix + name

    def envelope(self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL) -> bytes:
        """The JSON kombu's Redis transport LPUSHes for `send_task(name, [job_id], task_id=job_id)`."""
        message = self.celery.amqp.as_task_v2(
            job_id,
            job_type.task_name,
            args=[job_id],
            origin=self.origin,
            reply_to=self.celery.thread_oid,
            ignore_result=None,  # as send_task leaves it: the task's own setting applies
        )
        body = json.dumps(message.body).encode()
        return json.dumps(
            {
                "body": base64.b64encode(body).decode(),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": message.headers,
                "properties": {
                    **message.properties,
                    "delivery_mode": 2,
                    "delivery_info": {"exchange": "", "routing_key": job_type.queue},
                    # kombu re-files a restored message by this, so it must match the sub-queue
                    "priority": KOMBU_PRIORITY[priority],
                    "body_encoding": "base64",
                    "delivery_tag": str(uuid.uuid4()),
                },
            }
        ).encode()

    def client(self) -> Any:
        """The broker's Redis client for the running loop (a new loop, as in tests, gets a new client)."""
        loop = asyncio.get_running_loop()
        if self.redis is None or self._redis_loop is not loop:
            options = self.celery.conf.broker_transport_options or {}
            self.redis = aioredis.Redis.from_url(
                self.redis_url,
                socket_connect_timeout=options.get("socket_connect_timeout", 2),
                socket_timeout=options.get("socket_timeout", 10),
                protocol=2,
            )
            self._publish_script = self.redis.register_script(PUBLISH)
            self._redis_loop = loop
        return self.redis

    def _executor(self) -> ThreadPoolExecutor:
        if self.executor is None:
            self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="myspinbot-publish")
        return self.executor

    def _send(self, job_type: JobType, job_id: str, priority: Priority) -> None:
        self.celery.send_task(
            job_type.task_name, args=[job_id], task_id=job_id, queue=job_type.queue, priority=KOMBU_PRIORITY[priority]
        )

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        client, self.redis = self.redis, None
        if client is not None and self._redis_loop is not None and not self._redis_loop.is_closed():
            # close() is called from the app's shutdown, on the loop the client belongs to.
            task = self._redis_loop.create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
