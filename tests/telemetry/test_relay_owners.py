"""The telemetry relay's fan-out, as logic: by id only, members only their own jobs', coalesced."""

from __future__ import annotations

import asyncio
import json

from myspinbot.api.gateway import EventGateway, GatewayClient
from myspinbot.api.telemetry_relay import PendingTelemetry, TelemetryRelay
from myspinbot.core.kernel import LiveStats
from myspinbot.core.telemetry import TelemetryKind, TelemetryNotice

JOB = "a" * 32


async def noop_send(_: str) -> None:
    return None


def client(gateway: EventGateway, jobs: set[str] | None, owner: str | None) -> GatewayClient:
    made = gateway.new_client(noop_send)
    made.jobs, made.owner, made.live = jobs, owner, True
    return made


def test_members_get_telemetry_of_their_own_jobs_only() -> None:
    """A job's metric frames reach the admin and its owner watching it by id; another member watching
    the same id, and a watch of every job, get nothing; many notices become one frame."""

    async def scenario() -> dict[str, list[str]]:
        gateway = EventGateway(store=None, outbox_size=100)  # type: ignore[arg-type]
        relay = TelemetryRelay(store=None, gateway=gateway, stats=LiveStats())  # type: ignore[arg-type]
        clients = {
            "admin": client(gateway, {JOB}, None),
            "owner": client(gateway, {JOB}, "ann"),
            "other": client(gateway, {JOB}, "bob"),
            "everything": client(gateway, None, None),
        }
        relay.owners[JOB] = "ann"
        pending = PendingTelemetry()
        for step in range(1, 101):
            payload = json.dumps({"step": step, "values": {"loss": 1 / step}, "points": 1})
            pending.add(TelemetryNotice(f"{step}-0", TelemetryKind.METRIC, JOB, payload))
        relay.pending[JOB] = pending
        relay.send_pending()
        out = {}
        for name, item in clients.items():
            frames = []
            while not item.outbox.empty():
                frames.append(item.outbox.get_nowait())
            out[name] = frames
        return out

    frames = asyncio.run(scenario())
    assert frames["other"] == [] and frames["everything"] == []
    for name in ("admin", "owner"):
        [frame] = frames[name]
        data = json.loads(frame)
        assert data["type"] == "job.metric" and data["step"] == 100 and data["points"] == 100
        assert data["values"] == {"loss": 0.01}
