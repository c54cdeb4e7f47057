"""The durable outbox in Redis: subscriptions, deliveries and the schedule of due attempts.

Keys (all under `myspinbot:webhooks:`):
- `subscriptions` hash: id → StoredSubscription JSON;
- `delivery:<id>` string: StoredDelivery JSON (expires MYSPINBOT_JOB_TTL_SECONDS after it ends);
- `due` sorted set: pending delivery id → when its next attempt may start. A deliverer claims a
  due id by moving its score past the attempt's end (the lease), so a deliverer killed mid-attempt
  leaves the id to come due again, with the same delivery id: at least once;
- `recent:<subscription id>` list: the newest delivery ids, for the deliveries route;
- `outcomes` hash: attempts and final results by outcome, global across processes, for /metrics.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable
from typing import Any

import redis
import redis.asyncio as aioredis

from myspinbot import Job, JobEvent
from myspinbot_webhooks.models import DeliveryState, StoredDelivery, StoredSubscription, Webhook
from myspinbot_webhooks.payload import delivery_body, utc_time
from myspinbot_webhooks.subscription_cache import CHANGED_CHANNEL, SubscriptionCache

PREFIX = "myspinbot:webhooks:"
SUBSCRIPTIONS = PREFIX + "subscriptions"
DUE = PREFIX + "due"
OUTCOMES = PREFIX + "outcomes"

# Claim up to ARGV[3] ids due by ARGV[1], hiding each until ARGV[2] (the lease), in one step.
CLAIM_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""


def delivery_key(delivery_id: str) -> str:
    return f"{PREFIX}delivery:{delivery_id}"


def recent_key(subscription_id: str) -> str:
    return f"{PREFIX}recent:{subscription_id}"


def delivery_id_for(event_id: str, subscription_id: str) -> str:
    """The same event for the same subscription always gets the same id, so a repeated
    fan-out (a re-delivered job event) never makes a second delivery."""
    if not event_id:
        return "whd_" + uuid.uuid4().hex[:24]
    return "whd_" + hashlib.sha256(f"{event_id}|{subscription_id}".encode()).hexdigest()[:24]


def matches(subscription: StoredSubscription, event: str, job_type: str, job_owner: str | None) -> bool:
    """Whether a subscription wants this event of this job: its events, its job types, its owner's jobs."""
    if event not in subscription.events:
        return False
    if subscription.job_types and job_type not in subscription.job_types:
        return False
    return subscription.owner is None or subscription.owner == job_owner


def parse_subscriptions(raw: dict[Any, Any]) -> list[StoredSubscription]:
    """Stored subscriptions from the hash's values, oldest first."""
    found = [StoredSubscription.model_validate_json(value) for value in raw.values()]
    return sorted(found, key=lambda sub: (sub.created_at, sub.id))


def new_delivery(
    subscription_id: str, event: str, delivery_id: str, body: str, job_id: str | None, now: float
) -> StoredDelivery:
    """A pending delivery, due at once."""
    return StoredDelivery(
        id=delivery_id,
        subscription_id=subscription_id,
        event=event,
        job_id=job_id,
        created_at=utc_time(now),
        created_epoch=now,
        next_attempt_at=utc_time(now),
        body=body,
    )


class EventFanout:
    """Writes the deliveries of one job event into the outbox, synchronously: the `job_event`
    hook runs in the process that stored the event (a worker thread, or the API) and must be
    durable before it returns. With nothing subscribed it costs no round trip (the subscriptions
    come from the process's SubscriptionCache); otherwise one transaction for the deliveries."""

    def __init__(self, redis_url: str, public_url: str, keep: int, ttl_seconds: int, cache_seconds: float) -> None:
        self.client = redis.Redis.from_url(
            redis_url, protocol=2, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=True
        )
        self.public_url = public_url
        self.keep = keep
        self.ttl_seconds = ttl_seconds
        self.subscriptions = SubscriptionCache(
            self.client, lambda: parse_subscriptions(self.client.hgetall(SUBSCRIPTIONS)), cache_seconds
        )

    def fan_out(self, event: JobEvent) -> list[str]:
        """The ids of the deliveries made for this job event (none when nothing subscribes to it)."""
        return self._fan_out(event.event.value, event.id, event.job, {})

    def fan_out_batch(self, batch_id: str, last_job: Job) -> list[str]:
        """The ids of the deliveries made for a finished batch (`batch.finished`, sent once per batch)."""
        extra = {"batch_id": batch_id, "batch_url": f"{self.public_url}/api/batches/{batch_id}"}
        return self._fan_out("batch.finished", f"batch:{batch_id}", last_job, extra)

    def _fan_out(self, event: str, event_key: str, job: Job, extra: dict[str, Any]) -> list[str]:
        owner = job.owner or None
        wanted = [sub for sub in self.subscriptions.current() if matches(sub, event, job.type, owner)]
        if not wanted:
            return []
        now = time.time()
        pipe = self.client.pipeline(transaction=True)
        made = []
        for sub in wanted:
            delivery_id = delivery_id_for(event_key, sub.id)
            body = delivery_body(event, delivery_id, job, self.public_url, now, extra)
            delivery = new_delivery(sub.id, event, delivery_id, body, job.id, now)
            pipe.set(delivery_key(delivery_id), delivery.model_dump_json(), nx=True, ex=self.ttl_seconds)
            pipe.zadd(DUE, {delivery_id: now}, nx=True)
            pipe.lrem(recent_key(sub.id), 0, delivery_id)
            pipe.lpush(recent_key(sub.id), delivery_id)
            pipe.ltrim(recent_key(sub.id), 0, self.keep - 1)
            made.append(delivery_id)
        pipe.execute()
        return made

    def close(self) -> None:
        self.subscriptions.close()
        self.client.close()


class Outbox:
    """The async side of the outbox: subscriptions for the routes, claims and results for the deliverer."""

    def __init__(self, redis_url: str, keep: int, ttl_seconds: int) -> None:
        self.client = aioredis.Redis.from_url(
            redis_url, protocol=2, socket_timeout=5.0, socket_connect_timeout=2.0, decode_responses=True
        )
        self.keep = keep
        self.ttl_seconds = ttl_seconds
        self._claim = self.client.register_script(CLAIM_SCRIPT)

    # --- subscriptions ---

    async def add_subscription(self, subscription: StoredSubscription) -> None:
        """Store a subscription and tell every process's SubscriptionCache (one transaction)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(SUBSCRIPTIONS, subscription.id, subscription.model_dump_json())
        pipe.publish(CHANGED_CHANNEL, subscription.id)
        await pipe.execute()

    async def subscriptions(self) -> list[StoredSubscription]:
        return parse_subscriptions(await self.client.hgetall(SUBSCRIPTIONS))

    async def subscription(self, subscription_id: str) -> StoredSubscription | None:
        raw = await self.client.hget(SUBSCRIPTIONS, subscription_id)
        return StoredSubscription.model_validate_json(raw) if raw else None

    async def remove_subscription(self, subscription_id: str) -> bool:
        """Forget a subscription; its pending deliveries are dropped when they come due."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(SUBSCRIPTIONS, subscription_id)
        pipe.publish(CHANGED_CHANNEL, subscription_id)
        pipe.delete(recent_key(subscription_id))
        removed, _, _ = await pipe.execute()
        return bool(removed)

    # --- deliveries ---

    async def enqueue(self, delivery: StoredDelivery) -> None:
        """Store a new delivery and make it due (the test ping takes this path)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(delivery_key(delivery.id), delivery.model_dump_json(), nx=True, ex=self.ttl_seconds)
        pipe.zadd(DUE, {delivery.id: delivery.created_epoch}, nx=True)
        pipe.lpush(recent_key(delivery.subscription_id), delivery.id)
        pipe.ltrim(recent_key(delivery.subscription_id), 0, self.keep - 1)
        await pipe.execute()

    async def recent(self, subscription_id: str) -> list[StoredDelivery]:
        """The subscription's newest deliveries, newest first."""
        ids = await self.client.lrange(recent_key(subscription_id), 0, self.keep - 1)
        return await self.load(str(item) for item in ids)

    async def load(self, delivery_ids: Iterable[str]) -> list[StoredDelivery]:
        """The deliveries still stored, in the order asked."""
        ids = list(delivery_ids)
        if not ids:
            return []
        raws = await self.client.mget([delivery_key(delivery_id) for delivery_id in ids])
        return [StoredDelivery.model_validate_json(raw) for raw in raws if raw]

    async def claim(self, limit: int, lease_seconds: float) -> list[str]:
        """Ids of up to `limit` due deliveries, hidden from other deliverers for the lease."""
        now = time.time()
        ids = await self._claim(keys=[DUE], args=[now, now + lease_seconds, limit])
        return [str(item) for item in ids]

    async def defer(self, delivery_id: str, due: float) -> None:
        """Give a claimed delivery back, due at `due` (its receiver is busy)."""
        await self.client.zadd(DUE, {delivery_id: due}, xx=True)

    async def drop(self, delivery_id: str) -> None:
        """Remove an id whose record is gone (expired, or its subscription deleted)."""
        await self.client.zrem(DUE, delivery_id)

    async def record(self, delivery: StoredDelivery, next_due: float | None, outcome: str) -> None:
        """Save a delivery after an attempt: due again at next_due, or finished when None."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(delivery_key(delivery.id), delivery.model_dump_json(), ex=self.ttl_seconds)
        if next_due is None:
            pipe.zrem(DUE, delivery.id)
            pipe.hincrby(OUTCOMES, f"delivery:{delivery.state.value}", 1)
        else:
            pipe.zadd(DUE, {delivery.id: next_due})
        pipe.hincrby(OUTCOMES, f"attempt:{outcome}", 1)
        await pipe.execute()

    async def counts(self) -> tuple[int, dict[str, int]]:
        """Pending deliveries and the outcome counters, for /metrics."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(DUE)
        pipe.hgetall(OUTCOMES)
        pending, outcomes = await pipe.execute()
        return int(pending), {str(key): int(value) for key, value in outcomes.items()}

    async def close(self) -> None:
        await self.client.aclose()


def is_finished(delivery: StoredDelivery) -> bool:
    return delivery.state is not DeliveryState.PENDING


def public_subscriptions(subscriptions: list[StoredSubscription]) -> list[Webhook]:
    return [subscription.public() for subscription in subscriptions]
