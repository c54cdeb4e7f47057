"""Steering the Celery queues on Redis: pause, resume, order, depth and moving one message.

Pausing moves a queue's waiting messages into "held" lists that no worker reads, and the
publisher files new messages there while the flag is up (one Lua script each, so nothing slips
between). A worker that starts during the pause finds nothing to take; running jobs finish.
Resuming moves the held messages back behind anything already live, in their order. Changing a
queued job's priority moves its one message between kombu's priority sub-queues (compare-and-
delete on the exact message), so the job can never be delivered twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from myspinbot.core.queueing import Priority
from myspinbot.worker.wire import (
    KOMBU_PRIORITY,
    PAUSED_QUEUES_KEY,
    PRIORITY_STEPS,
    BrokerUnavailable,
    JobPublisher,
    broker_lists,
    held_queue,
    message_list,
    message_task,
    sub_queue,
)

log = logging.getLogger(__name__)

ORDER_SCAN_LIMIT = 1000  # messages read per list to compute positions; beyond that, position unknown

# KEYS: paused set, then for each step its live list and its held list; ARGV: queue, steps count,
# "pause" or "resume". Pausing moves each live list into its held one; resuming moves the held
# messages back behind what is live (a message a worker handed back while paused), keeping their
# own order. Returns 1 when the flag changed, 0 when the queue already was paused (or resumed).
PAUSE_OR_RESUME = """
local pausing = ARGV[3] == 'pause'
local changed
if pausing then changed = redis.call('SADD', KEYS[1], ARGV[1]) else changed = redis.call('SREM', KEYS[1], ARGV[1]) end
if changed == 0 then return 0 end
for i = 0, tonumber(ARGV[2]) - 1 do
  local live, held = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  if pausing then
    while redis.call('RPOPLPUSH', live, held) do end
  else
    while redis.call('RPOPLPUSH', held, live) do end
  end
end
return 1
"""

# KEYS: source list, target list; ARGV: old message, new message, "front"|"back".
# Returns 1 when moved, 0 when the old message is gone (a worker took it).
MOVE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if ARGV[3] == 'front' then redis.call('RPUSH', KEYS[2], ARGV[2]) else redis.call('LPUSH', KEYS[2], ARGV[2]) end
return 1
"""


@contextlib.contextmanager
def broker_errors() -> Iterator[None]:
    """Any failure talking to the broker's Redis as BrokerUnavailable (the routes answer 503)."""
    try:
        yield
    except Exception as error:
        raise BrokerUnavailable(str(error) or type(error).__name__) from error


def message_job_id(raw: bytes) -> str | None:
    """The job id of one queued message, or None."""
    found = message_task(raw)
    return found[0] if found else None


@dataclass(frozen=True)
class QueueOrder:
    """A queue's waiting jobs in the order they will start, and how many messages wait."""

    paused: bool
    depth: int
    tasks: list[tuple[str, str]]  # (job id, task name), next first
    complete: bool  # False when the queue is longer than the scan limit


class BrokerQueues:
    """Queue operations on the broker's Redis, through the publisher's client."""

    def __init__(self, publisher: JobPublisher) -> None:
        self.publisher = publisher

    @property
    def supported(self) -> bool:
        """Queue control needs the Redis broker (the only one MySpinBot configures)."""
        return bool(self.publisher.redis_url)

    def _pairs(self, queue: str) -> list[str]:
        key = self.publisher.key
        return [name for step in PRIORITY_STEPS for name in (key(sub_queue(queue, step)), key(held_queue(queue, step)))]

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        with broker_errors():
            return await self.publisher.client().eval(script, len(keys), *keys, *args)

    async def pause(self, queue: str) -> bool:
        """Hold every waiting message of `queue`; False when it was paused already."""
        return await self._pause_or_resume(queue, "pause")

    async def resume(self, queue: str) -> bool:
        """Give the held messages back to the workers; False when it was not paused."""
        return await self._pause_or_resume(queue, "resume")

    async def _pause_or_resume(self, queue: str, action: Literal["pause", "resume"]) -> bool:
        keys = [self.publisher.key(PAUSED_QUEUES_KEY), *self._pairs(queue)]
        return bool(await self._call(PAUSE_OR_RESUME, keys, [queue, len(PRIORITY_STEPS), action]))

    async def paused(self) -> set[str]:
        """The names of the paused queues."""
        with broker_errors():
            members = await self.publisher.client().smembers(self.publisher.key(PAUSED_QUEUES_KEY))
        return {member.decode() if isinstance(member, bytes) else str(member) for member in members}

    async def depths(self, queues: list[str]) -> dict[str, int]:
        """Messages waiting in each queue: every priority step, live and held."""
        with broker_errors():
            pipe = self.publisher.client().pipeline(transaction=False)
            for queue in queues:
                for name in broker_lists(queue):
                    pipe.llen(self.publisher.key(name))
            lengths = await pipe.execute()
        per = len(PRIORITY_STEPS) * 2
        return {queue: sum(int(n) for n in lengths[i * per : (i + 1) * per]) for i, queue in enumerate(queues)}

    async def order(self, queue: str, paused: bool | None = None) -> QueueOrder:
        """The waiting jobs of `queue`, next first: by priority step, live before held, and in
        each list from the right (kombu BRPOPs the right end)."""
        client = self.publisher.client()
        with broker_errors():
            pipe = client.pipeline(transaction=False)
            if paused is None:
                pipe.sismember(self.publisher.key(PAUSED_QUEUES_KEY), queue)
            names = self._pairs(queue)
            for name in names:
                pipe.llen(name)
                pipe.lrange(name, -ORDER_SCAN_LIMIT, -1)
            replies = await pipe.execute()
        if paused is None:
            paused, replies = bool(replies[0]), replies[1:]
        depth, complete = 0, True
        tasks: list[tuple[str, str]] = []
        for index in range(len(names)):
            length, messages = int(replies[2 * index]), replies[2 * index + 1]
            depth += length
            complete = complete and length <= ORDER_SCAN_LIMIT
            tasks.extend(task for raw in reversed(messages) if (task := message_task(raw)))
        return QueueOrder(paused=bool(paused), depth=depth, tasks=tasks, complete=complete)

    async def move(self, queue: str, job_id: str, priority: Priority, *, front: bool) -> bool:
        """File a waiting job's message under `priority` (at the front of it with `front`);
        False when its message is no longer waiting (a worker has it)."""
        client = self.publisher.client()
        names = self._pairs(queue)
        with broker_errors():
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.lrange(name, 0, -1)
            lists = await pipe.execute()
        for index, messages in enumerate(lists):
            for raw in messages:
                if message_job_id(raw) != job_id:
                    continue
                held = index % 2 == 1
                target = self.publisher.key(message_list(queue, priority, held=held))
                message = json.loads(raw)
                message["properties"]["priority"] = KOMBU_PRIORITY[priority]  # kombu re-files a restored message by it
                moved = await self._call(
                    MOVE, [names[index], target], [raw, json.dumps(message), "front" if front else "back"]
                )
                return bool(moved)
        return False
