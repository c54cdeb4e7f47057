"""The per-process copy of the webhook subscriptions (real Redis): reused while nothing changes,
re-read at once after a change made through another connection, a lost watch, or its maximum age."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis

from myspinbot import EventName, JobEvent, JobState
from myspinbot.core.lifecycle import finish, new_job, start
from myspinbot_webhooks.models import StoredSubscription
from myspinbot_webhooks.outbox import SUBSCRIPTIONS, EventFanout, Outbox, delivery_key


def subscription(subscription_id: str) -> StoredSubscription:
    return StoredSubscription.model_validate(
        {
            "id": subscription_id,
            "url": "https://hooks.example.test/in",
            "events": ["job.succeeded"],
            "secret": "whsec_" + "0" * 32,
            "created_at": "2026-12-01T00:00:00.000Z",
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fanout(redis_url: str) -> Iterator[EventFanout]:
    """A fan-out writer as a worker holds it, on an empty subscription hash."""
    writer = EventFanout(redis_url, "https://api.example.test", keep=10, ttl_seconds=60, cache_seconds=5.0)
    writer.client.delete(SUBSCRIPTIONS)
    yield writer
    writer.client.delete(SUBSCRIPTIONS)
    writer.close()


def change_elsewhere(redis_url: str, add: StoredSubscription | None = None, remove: str | None = None) -> None:
    """Change the subscriptions as the API's routes do, on connections of their own, then make one
    more call to Redis from the worker side (as a job's save would, before its event is fanned out)."""

    async def change() -> None:
        outbox = Outbox(redis_url, keep=10, ttl_seconds=60)
        try:
            if add is not None:
                await outbox.add_subscription(add)
            if remove is not None:
                await outbox.remove_subscription(remove)
        finally:
            await outbox.close()

    asyncio.run(change())


def test_the_copy_is_reused_until_a_subscription_is_added_or_removed(fanout: EventFanout, redis_url: str) -> None:
    cache = fanout.subscriptions
    assert cache.current() == []
    for _ in range(50):
        assert cache.current() == []
    assert cache.reads == 1, "nothing changed, so the hash was read once"

    change_elsewhere(redis_url, add=subscription("wh_new"))
    fanout.client.ping()  # the worker's own next round trip (a job's save)
    assert [sub.id for sub in cache.current()] == ["wh_new"], "a new subscription is seen by the next event"
    assert cache.reads == 2
    assert [sub.id for sub in cache.current()] == ["wh_new"]
    assert cache.reads == 2

    change_elsewhere(redis_url, remove="wh_new")
    fanout.client.ping()
    assert cache.current() == []
    assert cache.reads == 3


def test_a_new_subscription_gets_the_next_job_event(fanout: EventFanout, redis_url: str) -> None:
    """End to end through the hook's writer: no delivery before, one right after the subscription."""
    job = finish(start(new_job("c" * 32, "noop", {}, []), "w/1"), JobState.SUCCEEDED)
    assert fanout.fan_out(JobEvent(id="1-1", event=EventName.SUCCEEDED, job=job)) == []
    change_elsewhere(redis_url, add=subscription("wh_next"))
    fanout.client.ping()
    made = fanout.fan_out(JobEvent(id="1-2", event=EventName.SUCCEEDED, job=job))
    assert len(made) == 1
    assert fanout.client.exists(delivery_key(made[0]))


def test_a_lost_watch_connection_makes_the_next_event_read_again(fanout: EventFanout, redis_url: str) -> None:
    cache = fanout.subscriptions
    cache.current()
    assert cache.reads == 1
    # A notice sent while the connection is down would be lost: so losing it drops the copy.
    killed = fanout.client.client_kill_filter(_type="pubsub")
    assert killed >= 1
    fanout.client.hset(SUBSCRIPTIONS, "wh_quiet", subscription("wh_quiet").model_dump_json())  # no notice
    assert [sub.id for sub in cache.current()] == ["wh_quiet"]
    assert cache.reads == 2
    cache.current()  # watching again: reused
    assert cache.reads == 2
    change_elsewhere(redis_url, remove="wh_quiet")
    fanout.client.ping()
    assert cache.current() == [], "the new watch connection gets notices"


def test_no_copy_outlives_its_maximum_age(fanout: EventFanout) -> None:
    cache = fanout.subscriptions
    clock = Clock()
    cache.clock = clock
    cache.current()
    # Written without a notice (as if one were lost): only the age bound brings it in.
    fanout.client.hset(SUBSCRIPTIONS, "wh_unannounced", subscription("wh_unannounced").model_dump_json())
    clock.now += 4.9
    assert cache.current() == []
    clock.now += 0.2
    assert [sub.id for sub in cache.current()] == ["wh_unannounced"]
    assert cache.reads == 2


def test_zero_seconds_reads_on_every_event(redis_url: str) -> None:
    writer = EventFanout(redis_url, "https://api.example.test", keep=10, ttl_seconds=60, cache_seconds=0)
    try:
        for _ in range(3):
            writer.subscriptions.current()
        assert writer.subscriptions.reads == 3
        assert writer.subscriptions._pubsub is None, "no watch connection is held when nothing is kept"
    finally:
        writer.close()


def test_an_unreachable_redis_fails_the_read_and_keeps_nothing() -> None:
    """No watch can be made: the call still tries to read and fails loudly (the hook logs it)."""
    writer = EventFanout("redis://127.0.0.1:9/0", "https://api.example.test", keep=10, ttl_seconds=60, cache_seconds=5)
    try:
        with pytest.raises(redis.ConnectionError):
            writer.subscriptions.current()
        assert writer.subscriptions._subscriptions is None
    finally:
        writer.close()
