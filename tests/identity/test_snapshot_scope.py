"""A member's `/ws` snapshot holds its own active jobs however many other users have queued.

The snapshot used to read the newest 500 active jobs of everyone and keep the member's: behind
a backlog of other users' jobs a member's own queued job was missing, and every member's connect
parsed up to a thousand records of other people.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from myspinbot.cli.redis_server import RedisProcess
from tests.identity.support import make_people, own_client_address
from tests.support.jobs import store_queued_jobs

BACKLOG = 520  # past the snapshot's limit of 500 active jobs


@pytest.fixture
def private_settings(auth_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Auth on, on a Redis of this test's own: the backlog must not reach other tests' snapshots."""
    server = RedisProcess(tmp_path / "redis").start()
    try:
        yield auth_settings.model_copy(update={"redis_url": server.url})
    finally:
        server.stop()


def snapshot_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    with client.websocket_connect("/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        frame = ws.receive_json()
        assert frame["type"] == "snapshot", frame
        return [job["id"] for job in frame["jobs"]]


def test_a_members_snapshot_has_its_own_jobs_behind_another_users_backlog(private_settings: Settings) -> None:
    with TestClient(create_app(private_settings), client=own_client_address()) as client:
        people = make_people(client)
        (alices,) = store_queued_jobs(private_settings, owner=people.alice.name)
        bobs = store_queued_jobs(private_settings, BACKLOG, owner=people.bob.name)  # all newer than alice's

        assert snapshot_ids(client, people.alice.headers) == [alices]
        bob_sees = snapshot_ids(client, people.bob.headers)
        assert len(bob_sees) == 500 and set(bob_sees) <= set(bobs)
        assert bob_sees == list(reversed(bobs))[:500]  # newest first, as for everyone
        # The viewer's snapshot is everyone's newest 500: bob's, as before.
        assert snapshot_ids(client, people.viewer.headers) == bob_sees
