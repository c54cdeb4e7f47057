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

from myspinbot.core.jobtypes import JobType

log = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker refused or could not take the message."""


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
        self._redis_loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.origin = f"myspinbot-api@{uuid.uuid4().hex[:8]}"

    async def publish(self, job_type: JobType, job_id: str) -> None:
        """Enqueue the job's task; raise BrokerUnavailable when the broker cannot take it."""
        try:
            if self.redis_url:
                await self._redis().lpush(self.key_prefix + job_type.queue, self.envelope(job_type, job_id))
            else:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor(), self._send, job_type, job_id)
        except Exception as error:  # redis-py's or kombu's errors alike: nothing was queued
            log.warning("could not enqueue job %s: %s", job_id, error)
            raise BrokerUnavailable(str(error) or type(error).__name__) from error

    def envelope(self, job_type: JobType, job_id: str) -> bytes:
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
                    "priority": 0,
                    "body_encoding": "base64",
                    "delivery_tag": str(uuid.uuid4()),
                },
            }
        ).encode()

    def _redis(self) -> Any:
        """The client for the running loop (a new loop, as in tests, gets a new client)."""
        loop = asyncio.get_running_loop()
        if self.redis is None or self._redis_loop is not loop:
            options = self.celery.conf.broker_transport_options or {}
            self.redis = aioredis.Redis.from_url(
                self.redis_url,
                socket_connect_timeout=options.get("socket_connect_timeout", 2),
                socket_timeout=options.get("socket_timeout", 10),
                protocol=2,
            )
            self._redis_loop = loop
        return self.redis

    def _executor(self) -> ThreadPoolExecutor:
        if self.executor is None:
            self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="myspinbot-publish")
        return self.executor

    def _send(self, job_type: JobType, job_id: str) -> None:
        self.celery.send_task(job_type.task_name, args=[job_id], task_id=job_id, queue=job_type.queue)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        client, self.redis = self.redis, None
        if client is not None and self._redis_loop is not None and not self._redis_loop.is_closed():
            # close() is called from the app's shutdown, on the loop the client belongs to.
            task = self._redis_loop.create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
