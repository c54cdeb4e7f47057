"""The stream follower shared by the event gateway and the telemetry relay, as logic: place kept across outages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from myspinbot.api.stream_follower import follow_stream
from myspinbot.core.store import StoreUnavailable


@dataclass(frozen=True)
class Entry:
    id: str


class FlakyStream:
    """A stream whose reads fail `outages` times in a row after each successful read."""

    def __init__(self, entries: list[Entry], outages: int) -> None:
        self.entries = entries
        self.outages = outages
        self.failures_left = outages
        self.positions_read: list[str] = []
        self.latest_calls = 0

    async def latest_id(self) -> str:
        self.latest_calls += 1
        if self.latest_calls == 1:
            raise StoreUnavailable("redis restarting")
        return "0-0"

    async def read_after(self, position: str) -> list[Entry]:
        await asyncio.sleep(0)
        if self.failures_left:
            self.failures_left -= 1
            raise StoreUnavailable("redis restarting")
        self.failures_left = self.outages
        self.positions_read.append(position)
        later = [entry for entry in self.entries if entry.id > position]
        return later[:2]


async def test_every_entry_is_handled_once_in_order_across_outages() -> None:
    """Outages on the first position and between reads are retried from the same place: nothing is
    skipped or handled twice, the start position is told once, and the follower ends when asked."""
    stream = FlakyStream([Entry(f"{n}-0") for n in range(1, 6)], outages=2)
    handled: list[str] = []
    starts: list[str] = []

    async def handle(batch: Sequence[Entry]) -> None:
        handled.extend(entry.id for entry in batch)

    follower = asyncio.create_task(
        follow_stream(
            "test stream",
            latest_id=stream.latest_id,
            read_after=stream.read_after,
            handle=handle,
            stopping=lambda: len(handled) >= 5,
            on_start=starts.append,
        )
    )
    await asyncio.wait_for(follower, timeout=30)

    assert handled == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    assert starts == ["0-0"]
    assert stream.positions_read == ["0-0", "2-0", "4-0"]


async def test_an_unexpected_error_is_retried_not_fatal() -> None:
    """A read that fails with a bug-like error is logged and tried again; the follower keeps going."""
    calls: list[str] = []
    handled: list[str] = []

    async def latest_id() -> str:
        return "0-0"

    async def read_after(position: str) -> list[Entry]:
        calls.append(position)
        if len(calls) == 1:
            raise ValueError("unexpected reply")
        return [Entry("1-0")]

    async def handle(batch: Sequence[Entry]) -> None:
        handled.extend(entry.id for entry in batch)

    await asyncio.wait_for(
        follow_stream("test stream", latest_id, read_after, handle, stopping=lambda: bool(handled)),
        timeout=30,
    )
    assert calls == ["0-0", "0-0"]
    assert handled == ["1-0"]


async def test_a_batch_whose_handling_fails_is_logged_and_the_next_one_handled() -> None:
    """A bug in handling one batch does not stop the follower: the next batch is handled."""
    handled: list[str] = []

    async def latest_id() -> str:
        return "0-0"

    async def read_after(position: str) -> list[Entry]:
        await asyncio.sleep(0)
        return [Entry({"0-0": "1-0", "1-0": "2-0"}.get(position, "9-0"))]

    async def handle(batch: Sequence[Entry]) -> None:
        if batch[0].id == "1-0":
            raise RuntimeError("a bug in one batch")
        handled.extend(entry.id for entry in batch)

    await asyncio.wait_for(
        follow_stream("test stream", latest_id, read_after, handle, stopping=lambda: bool(handled)),
        timeout=30,
    )
    assert handled == ["2-0"]


async def test_while_idle_nothing_is_read_and_the_follower_starts_again_from_the_newest() -> None:
    """`idle` is asked before each read; after a spell with nobody listening the follower takes
    the stream's newest id again (told to on_start) instead of reading what came meanwhile."""
    newest = iter(["1-0", "5-0"])
    reads: list[str] = []
    starts: list[str] = []
    spells = iter([False, True, False, False])

    async def latest_id() -> str:
        return next(newest)

    async def read_after(position: str) -> list[Entry]:
        reads.append(position)
        return [Entry(f"{int(position.split('-')[0]) + 1}-0")]

    async def idle() -> bool:
        return next(spells, False)

    async def handle(batch: Sequence[Entry]) -> None:
        pass

    await asyncio.wait_for(
        follow_stream(
            "test stream",
            latest_id,
            read_after,
            handle,
            stopping=lambda: len(reads) >= 3,
            on_start=starts.append,
            idle=idle,
        ),
        timeout=30,
    )
    assert starts == ["1-0", "5-0"]
    assert reads == ["1-0", "5-0", "6-0"]
