"""Everything MySpinBot knows about Celery's wire on Redis, in one place.

- the key layout of kombu's Redis transport: one list per priority step of a queue (the
  "sub-queues"), and the "held" lists where a paused queue's messages wait;
- the task message: Celery's protocol 2 (headers, properties, body) in the JSON envelope kombu's
  Redis transport LPUSHes;
- `JobPublisher`, which writes that message for a job with one Lua call on an asyncio Redis
  client, from the API's event loop, without building a Celery app.

Why below kombu: kombu's publish is blocking and builds a Redis client per call; on a thread pool
it was the largest share of a submit's CPU and held the GIL against the event loop
(docs/performance.md). tests/bench/test_publisher_fast_path.py proves that a real Celery worker
runs what this module writes and that the message equals the one `send_task` writes, so a Celery
upgrade that changes the protocol fails there first. The worker side is plain Celery, configured
with `transport_options` from here, so both sides agree on the layout by construction.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis

from myspinbot.core.job_service import BrokerUnavailable
from myspinbot.core.jobtypes import JobType
from myspinbot.core.queueing import Priority
from myspinbot.core.settings import Settings
from myspinbot.core.store import QueuedMessage

log = logging.getLogger(__name__)

__all__ = [
    "KOMBU_PRIORITY",
    "PAUSED_QUEUES_KEY",
    "PRIORITY_STEPS",
    "QUEUED_HEADER",
    "SUB_QUEUE_SEPARATOR",
    "BrokerUnavailable",
    "JobPublisher",
    "broker_lists",
    "held_queue",
    "message_list",
    "message_task",
    "sub_queue",
    "task_message",
    "transport_options",
]

# --- the key layout ---

# kombu's Redis transport emulates priorities with one list per step, BRPOPs them in this order
# (0 first) and files a message under the step at or below its `priority` property.
PRIORITY_STEPS: tuple[int, ...] = (0, 3, 6, 9)
SUB_QUEUE_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY: dict[Priority, int] = {Priority.HIGH: 0, Priority.NORMAL: 3, Priority.LOW: 6}
# A Redis set of paused queue names; paused queues' messages wait in "held" lists no worker reads.
PAUSED_QUEUES_KEY = "myspinbot:queues:paused"
SOCKET_CONNECT_TIMEOUT = 2
SOCKET_TIMEOUT = 10
# The message header carrying the job's record as queued (see task_message); Celery hands
# unknown headers to the task as attributes of `task.request`.
QUEUED_HEADER = "myspinbot_queued"


def sub_queue(queue: str, step: int) -> str:
    """The list kombu consumes for one priority step of a queue (step 0 is the queue itself)."""
    return f"{queue}{SUB_QUEUE_SEPARATOR}{step}" if step else queue


def held_queue(queue: str, step: int) -> str:
    """Where a paused queue's messages of one priority step wait; no consumer reads it."""
    return f"{queue}{SUB_QUEUE_SEPARATOR}held{SUB_QUEUE_SEPARATOR}{step}"


def message_list(queue: str, priority: Priority, *, held: bool = False) -> str:
    """The list a message of `priority` waits in: its live sub-queue, or (`held`, the queue is
    paused) its held list. Every writer of a message (publish, a priority change) asks here."""
    step = KOMBU_PRIORITY[priority]
    return held_queue(queue, step) if held else sub_queue(queue, step)


def broker_lists(queue: str) -> list[str]:
    """Every list holding a queue's waiting messages: live ones, then held ones, by step."""
    return [sub_queue(queue, step) for step in PRIORITY_STEPS] + [held_queue(queue, step) for step in PRIORITY_STEPS]


def transport_options(settings: Settings) -> dict[str, Any]:
    """Celery's `broker_transport_options`: the layout above and the timeouts the publisher uses too."""
    return {
        "visibility_timeout": settings.visibility_timeout_seconds,
        "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        # kombu's defaults, spelled out: the publisher and the queue controls write these lists
        "priority_steps": list(PRIORITY_STEPS),
        "sep": SUB_QUEUE_SEPARATOR,
    }


# --- the message ---


def task_message(
    task_name: str,
    job_id: str,
    queue: str,
    priority: Priority,
    *,
    origin: str,
    reply_to: str,
    queued: str | None = None,
) -> bytes:
    """The envelope kombu's Redis transport LPUSHes for `send_task(task_name, [job_id],
    task_id=job_id, queue=queue, priority=...)`: Celery protocol 2, JSON, body base64-encoded.

    `queued`, the job's record as it was stored when queued (version 0), goes in a message header
    of ours (QUEUED_HEADER): the worker may start the job from it with one compare-and-set on that
    version instead of reading the record first (JobService.begin); a record that changed since
    makes the set fail and the worker reads it after all: the copy counts only while the record
    is still the one the submit created. A header, not a task argument, so that a worker from
    before it runs the message as it always did (Celery ignores headers it does not know)."""
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task_name,
        "id": job_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": job_id,
        "parent_id": None,
        "argsrepr": repr([job_id]),
        "kwargsrepr": "{}",
        "origin": origin,
        "ignore_result": None,  # as send_task leaves it: the task's own setting applies
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    if queued is not None:
        headers[QUEUED_HEADER] = queued
    # args, kwargs, embed (no callbacks, errbacks, chain or chord)
    body = [[job_id], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    return json.dumps(
        {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": job_id,
                "reply_to": reply_to,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                # kombu re-files a restored message by this, so it must match the sub-queue
                "priority": KOMBU_PRIORITY[priority],
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    ).encode()


def message_task(raw: bytes) -> tuple[str, str] | None:
    """The job id (Celery task id) and task name of one queued message; None if it is not a task."""
    try:
        headers = json.loads(raw).get("headers") or {}
    except (ValueError, AttributeError):
        return None
    task_id, task = headers.get("id"), headers.get("task")
    return (task_id, str(task)) if isinstance(task_id, str) else None


# --- the publisher ---

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


class JobPublisher:
    """Publishes one Celery message per job (`task_id` = job id) on the sub-queue of its job
    type's queue and priority, or on its held list while the queue is paused."""

    def __init__(self, settings: Settings, *, key_prefix: str = "") -> None:
        self.redis_url = settings.redis_url  # the broker is always this Redis (checked by Settings)
        # kombu puts its `global_keyprefix` in front of every key it writes; MySpinBot sets none
        self.key_prefix = key_prefix
        self.redis: Any = None
        self._publish_script: Any = None
        self._redis_loop: asyncio.AbstractEventLoop | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.origin = f"myspinbot-api@{uuid.uuid4().hex[:8]}"
        self.reply_to = str(uuid.uuid4())  # Celery sends no replies here (results are off)

    async def publish(
        self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL, *, queued: str | None = None
    ) -> None:
        """Enqueue the job's task (with the `queued` record as the worker's hint, when given);
        raise BrokerUnavailable when the broker cannot take it."""
        queue = job_type.queue
        live, held = message_list(queue, priority), message_list(queue, priority, held=True)
        keys = [self.key(PAUSED_QUEUES_KEY), self.key(live), self.key(held)]
        message = task_message(
            job_type.task_name, job_id, queue, priority, origin=self.origin, reply_to=self.reply_to, queued=queued
        )
        try:
            self.client()  # (re)made for this loop, with its script
            await self._publish_script(keys=keys, args=[queue, message])
        except Exception as error:  # redis-py's errors: nothing was queued
            log.warning("could not enqueue job %s: %s", job_id, error)
            raise BrokerUnavailable(str(error) or type(error).__name__) from error

    def message(
        self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL, *, queued: str | None = None
    ) -> QueuedMessage:
        """What `publish` would push, for a store on this broker's Redis to write along with the
        job's record in one step (see QueueingStore and JobService.submit)."""
        queue = job_type.queue
        return QueuedMessage(
            broker=self.redis_url,
            queue=queue,
            paused=self.key(PAUSED_QUEUES_KEY),
            live=self.key(message_list(queue, priority)),
            held=self.key(message_list(queue, priority, held=True)),
            payload=task_message(
                job_type.task_name, job_id, queue, priority, origin=self.origin, reply_to=self.reply_to, queued=queued
            ),
        )

    def key(self, name: str) -> str:
        """A broker key as kombu names it (its global key prefix in front)."""
        return self.key_prefix + name

    def client(self) -> Any:
        """The broker's Redis client for the running loop (a new loop, as in tests, gets a new client)."""
        loop = asyncio.get_running_loop()
        if self.redis is None or self._redis_loop is not loop:
            self.redis = aioredis.Redis.from_url(
                self.redis_url,
                socket_connect_timeout=SOCKET_CONNECT_TIMEOUT,
                socket_timeout=SOCKET_TIMEOUT,
                protocol=2,
            )
            self._publish_script = self.redis.register_script(PUBLISH)
            self._redis_loop = loop
        return self.redis

    def close(self) -> None:
        """Close the broker connection (called from the app's shutdown, on its loop)."""
        client, self.redis = self.redis, None
        if client is not None and self._redis_loop is not None and not self._redis_loop.is_closed():
            task = self._redis_loop.create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
