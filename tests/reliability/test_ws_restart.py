"""WebSocket clients outlive an API restart: they reconnect with their last event id and miss nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlencode

import pytest
import redis
import websockets
from websockets.asyncio.client import connect

from tests.reliability.support import FAST_FAULTS, FINISHED, TOKEN, Figures, api_client, running_stack
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow

CLIENTS = 6
JOBS = 4
FOLLOW_TIMEOUT = 45.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with running_stack(tmp_path_factory.mktemp("ws-restart"), FAST_FAULTS) as live:
        yield live


@dataclass
class Follower:
    """A raw WebSocket client that resumes from the last event id it saw, with no de-duplication."""

    ws_url: str
    last_event_id: str
    jobs: list[str] | None = None
    token_in_header: bool = False
    received: list[str] = field(default_factory=list)
    connects: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)
    warmed_up: asyncio.Event = field(default_factory=asyncio.Event)  # set once it has seen a few events

    async def follow(self, until_finished: set[str]) -> None:
        """Read events until every job of `until_finished` has its final event, reconnecting as needed."""
        finished: set[str] = set()
        deadline = time.monotonic() + FOLLOW_TIMEOUT
        while not until_finished <= finished and time.monotonic() < deadline:
            query = {"last_event_id": self.last_event_id}
            if self.jobs is not None:
                query["jobs"] = ",".join(self.jobs)
            # A key never travels in the URL: a header, or an auth first frame for clients without headers.
            headers = {"Authorization": f"Bearer {TOKEN}"} if self.token_in_header else {}
            try:
                async with connect(
                    f"{self.ws_url}?{urlencode(query)}", additional_headers=headers, open_timeout=3
                ) as ws:
                    if not self.token_in_header:
                        await ws.send(json.dumps({"op": "auth", "key": TOKEN}))
                    self.connects += 1
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame["type"] == "error":
                            self.errors.append(frame)
                        elif frame["type"] == "event":
                            self.received.append(frame["id"])
                            self.last_event_id = frame["id"]
                            if len(self.received) >= JOBS + 2:
                                self.warmed_up.set()
                            if frame["job"]["state"] in FINISHED:
                                finished.add(frame["job"]["id"])
                            if until_finished <= finished:
                                return
            except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidStatus):
                pass
            await asyncio.sleep(0.1)


def stream_ids(redis_url: str, after: str) -> list[tuple[str, str]]:
    """(event id, job id) of every event in the stream after `after`."""
    client = redis.Redis.from_url(redis_url, decode_responses=True, protocol=2)
    try:
        entries = cast(list[tuple[str, dict[str, str]]], client.xrange("myspinbot:events", min=f"({after}"))
    finally:
        client.close()
    return [(entry_id, json.loads(fields["j"])["id"]) for entry_id, fields in entries]


def latest_id(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url, decode_responses=True, protocol=2)
    try:
        last = client.xrevrange("myspinbot:events", count=1)
    finally:
        client.close()
    return str(last[0][0]) if last else "0-0"


async def restart_api_midway(stack: LiveStack, followers: list[Follower]) -> tuple[float, float]:
    """Once every client has seen some events, restart the API; returns when it went away and came back."""
    await asyncio.gather(*(follower.warmed_up.wait() for follower in followers))
    went_away = time.time()
    await asyncio.to_thread(stack.restart_api)
    return went_away, time.time()


def test_ws_clients_resume_across_an_api_restart_and_get_every_event_once(stack: LiveStack, figures: Figures) -> None:
    """Raw /ws clients resume across an API restart and each gets every event once, in order."""
    start = latest_id(stack.redis_url)
    with api_client(stack.api_url) as api:
        jobs = [
            api.post("/api/jobs/sleepy", json={"steps": 14, "step_seconds": 0.15}).json()["id"] for _ in range(JOBS)
        ]
    ws_url = stack.api_url.replace("http://", "ws://") + "/ws"
    subset = jobs[:2]
    followers = [
        Follower(ws_url, start, jobs=None if n % 3 else subset, token_in_header=n % 2 == 1) for n in range(CLIENTS)
    ]

    async def scenario() -> tuple[float, float]:
        tasks = [asyncio.create_task(f.follow(set(f.jobs or jobs))) for f in followers]
        window = await restart_api_midway(stack, followers)
        await asyncio.gather(*tasks)
        return window

    went_away, came_back = asyncio.run(scenario())

    events = stream_ids(stack.redis_url, start)
    during = [event_id for event_id, _ in events if went_away * 1000 <= int(event_id.split("-")[0]) <= came_back * 1000]
    assert during, "no event was written while the API was away: nothing had to be replayed"
    for follower in followers:
        wanted = set(follower.jobs or jobs)
        expected = [event_id for event_id, job_id in events if job_id in wanted]
        assert not follower.errors, follower.errors
        assert follower.connects >= 2, "the client was never disconnected: the restart did not happen under it"
        assert len(follower.received) == len(set(follower.received)), "an event was delivered twice"
        assert follower.received == expected, (
            f"missing {sorted(set(expected) - set(follower.received))[:5]}, "
            f"extra {sorted(set(follower.received) - set(expected))[:5]}"
        )
    figures.add("faults.api_restart_under_ws_clients")
    figures.set("ws_restart.clients", CLIENTS)
    figures.set("ws_restart.api_away_seconds", round(came_back - went_away, 2))
    figures.set("ws_restart.events_written_while_api_away", len(during))
    figures.set("ws_restart.events_delivered", sum(len(f.received) for f in followers))
    figures.set("ws_restart.events_missed_or_repeated", 0)
    figures.job_outcomes(accepted=JOBS, finished=JOBS)
