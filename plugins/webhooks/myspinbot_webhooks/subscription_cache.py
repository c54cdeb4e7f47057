"""The subscription set as one process last read it, kept until someone changes it.

The `job_event` hook runs on every job start and finish; reading the subscriptions hash each time
was two Redis round trips per job, most often to learn that nothing subscribes (the worker's
largest cost of its own in the zero-step benchmark, docs/performance.md). So each process keeps
the parsed set and reads it again only when it may have changed:

- every change of the hash (`Outbox.add_subscription`, `remove_subscription`) publishes on
  CHANGED_CHANNEL in the same transaction. Each cache holds a pub/sub connection subscribed to it
  and, before using the set, polls that socket without blocking (no round trip): Redis writes the
  notice to every subscriber before it serves any later command, so an event stored after the
  route answered (its save is such a command) finds the notice waiting on the socket;
- a lost or re-made pub/sub connection may have missed a notice, so it drops the set too;
- MYSPINBOT_WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS (default 5 s) bounds how old the set may be even so,
  the backstop should a notice be lost without the connection failing; 0 reads the hash every time.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from myspinbot import fork_generation
from myspinbot_webhooks.models import StoredSubscription

log = logging.getLogger(__name__)

CHANGED_CHANNEL = "myspinbot:webhooks:subscriptions-changed"
SUBSCRIBE_CONFIRM_SECONDS = 2.0


class SubscriptionCache:
    """One process's copy of the subscriptions; `current()` re-reads through `read` when stale."""

    def __init__(
        self,
        client: redis.Redis,
        read: Callable[[], list[StoredSubscription]],
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.read = read
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self.reads = 0  # hash reads so far (the tests and the benchmark look at it)
        self._subscriptions: list[StoredSubscription] | None = None
        self._read_at = 0.0
        self._pubsub: Any = None
        self._fork = fork_generation()  # a cache made before a fork holds its parent's socket
        self._reconnected = False
        self._poller: select.poll | None = None  # on the watch socket (see _nothing_waiting)
        self._polled_fd = -1
        self._lock = threading.Lock()

    def current(self) -> list[StoredSubscription]:
        """The subscriptions, from memory unless a change was announced, the watch connection was
        lost, or the copy is older than the maximum age."""
        with self._lock:  # a threads-pool worker's threads share one cache (and its pub/sub socket)
            return self._current()

    def _current(self) -> list[StoredSubscription]:
        if self.max_age_seconds <= 0:
            return self._read()
        if self._fork != fork_generation():  # a forked pool child: the parent's socket is not ours
            self._forget_watch(close=False)
            self._fork = fork_generation()
        if self._pubsub is not None and self._changes_announced():
            self._subscriptions = None
        if self._pubsub is None and not self._watch():
            return self._read()  # no watch connection: nothing tells us of changes, read each time
        if self._subscriptions is None or self.clock() - self._read_at > self.max_age_seconds:
            return self._read()
        return self._subscriptions

    def _read(self) -> list[StoredSubscription]:
        # Taken before the read: a change announced while reading makes the next call read again.
        read_at = self.clock()
        subscriptions = self.read()
        self.reads += 1
        if self._pubsub is not None:
            self._subscriptions, self._read_at = subscriptions, read_at
        return subscriptions

    def _watch(self) -> bool:
        """Subscribe to change notices; True once Redis confirmed (only then is a read safe to keep)."""
        pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        try:
            pubsub.subscribe(CHANGED_CHANNEL)
            deadline = time.monotonic() + SUBSCRIBE_CONFIRM_SECONDS
            while time.monotonic() < deadline:
                message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message and message.get("type") == "subscribe":
                    break
            else:
                raise TimeoutError("no confirmation of the subscription to webhook changes")
        except (redis.RedisError, OSError, TimeoutError) as error:
            log.warning("webhooks: cannot watch subscription changes (%s); reading them on every event", error)
            pubsub.close()
            return False
        # redis-py re-subscribes by itself after a reconnect; a notice sent meanwhile is lost, so a
        # reconnect must drop the copy (this callback runs on every connect after the first).
        pubsub.connection.register_connect_callback(self._on_reconnect)
        self._pubsub, self._subscriptions, self._reconnected = pubsub, None, False
        return True

    def _on_reconnect(self, _connection: Any) -> None:
        self._reconnected = True

    def _changes_announced(self) -> bool:
        """Drain the notices waiting on the watch socket (never blocks); True if any, or if the
        connection was lost or re-made since the last look."""
        if self._nothing_waiting():
            return False
        announced = False
        try:
            while (message := self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)) is not None:
                announced = announced or message.get("type") == "message"
        except (redis.RedisError, OSError) as error:
            log.warning("webhooks: the watch of subscription changes failed (%s); watching again", error)
            self._forget_watch(close=True)  # the caller watches again, then reads
            return True
        if self._reconnected:
            self._reconnected = False
            return True
        return announced

    def _nothing_waiting(self) -> bool:
        """True when the watch socket has nothing to read, asked in one poll: the common case,
        where `get_message` costs three system calls and its parser's Python on every event.
        Anything else (a notice, a closed socket, a connection being re-made) goes to `get_message`.
        After its drain redis-py's buffer holds no whole notice, so an empty socket means none."""
        sock = getattr(self._pubsub.connection, "_sock", None)  # redis-py's socket, None while down
        if sock is None or self._reconnected:
            return False
        fd = sock.fileno()
        if self._poller is None or self._polled_fd != fd:
            self._poller, self._polled_fd = select.poll(), fd
            self._poller.register(fd, select.POLLIN)
        return not self._poller.poll(0)

    def _forget_watch(self, *, close: bool) -> None:
        pubsub, self._pubsub, self._subscriptions = self._pubsub, None, None
        if pubsub is not None and close:
            try:
                pubsub.close()
            except (redis.RedisError, OSError):
                pass

    def close(self) -> None:
        with self._lock:
            self._forget_watch(close=True)
