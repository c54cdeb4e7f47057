"""Following a store stream from its newest entry, riding out Redis restarts with backoff.

The event gateway and the telemetry relay each tail a stream for the life of the API process,
but only while somebody listens: with no client they wait (no reads, no parsing) and start again
from the stream's newest entry when one comes, since a client catches up on the past by replay
or by REST, never through a follower. Neither may die when Redis goes away for a while: both
keep their place and read on once it is back, waiting longer between tries (up to a cap) so a
long outage costs a log line every few seconds, not a busy loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from myspinbot.core.store import StoreUnavailable

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 5.0
# An error that is not an outage is a bug; retry at a steady pace so it cannot spin the loop.
AFTER_UNEXPECTED_ERROR_SECONDS = 1.0


class StreamEntry(Protocol):
    """What a stream read returns: entries that carry their stream id."""

    @property
    def id(self) -> str: ...


EntryT = TypeVar("EntryT", bound=StreamEntry)


async def follow_stream(
    name: str,
    latest_id: Callable[[], Awaitable[str]],
    read_after: Callable[[str], Awaitable[Sequence[EntryT]]],
    handle: Callable[[Sequence[EntryT]], Awaitable[None]],
    stopping: Callable[[], bool],
    on_start: Callable[[str], None] | None = None,
    idle: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Hand every entry after the stream's newest one at start to `handle`, batch by batch, until `stopping()`.

    `read_after(position)` blocks for a while and returns what came after `position` (maybe
    nothing); `on_start` is told the starting position once it is known. A `StoreUnavailable`
    is retried with doubling waits from the same position, so nothing is skipped. A batch whose
    `handle` raises is logged and passed over: the follower goes on with the next one.

    `idle()` is awaited before every read: it returns False at once while somebody listens, or
    waits until somebody does and returns True; the follower then starts again from the newest
    entry (and tells `on_start` so).
    """
    position: str | None = None
    retry = FIRST_RETRY_SECONDS
    while not stopping():
        if idle is not None and await idle():
            position = None
            continue
        try:
            if position is None:
                position = await latest_id()
                if on_start is not None:
                    on_start(position)
            entries = await read_after(position)
            retry = FIRST_RETRY_SECONDS
        except StoreUnavailable as error:
            log.warning("%s unreachable, retrying in %.1fs: %s", name, retry, error)
            await asyncio.sleep(retry)
            retry = min(retry * 2, MAX_RETRY_SECONDS)
            continue
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s read failed", name)
            await asyncio.sleep(AFTER_UNEXPECTED_ERROR_SECONDS)
            continue
        if entries:
            position = entries[-1].id
            try:
                await handle(entries)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug in handling one batch must not end live delivery for every client; the
                # entries stay in the stream, so a client that reconnects still replays them.
                log.exception("%s: handling %d entries up to %s failed", name, len(entries), position)
