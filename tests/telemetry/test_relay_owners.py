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


def test_a_jobs_pending_telemetry_goes_out_before_its_finishing_event() -> None:
    """The last coalesced frames of a job are offered ahead of its `job.succeeded` frame, not at the
    relay's next tick after it; a progress event leaves them to the tick."""
    from myspinbot.core import lifecycle
    from myspinbot.core.jobs import EventName, JobEvent, JobState

    def drain(watcher: GatewayClient) -> list[str]:
        kinds = []
        while not watcher.outbox.empty():
            kinds.append(json.loads(watcher.outbox.get_nowait()).get("event") or "metric")
        return kinds

    async def scenario() -> tuple[list[str], list[str], list[str], list[str]]:
        gateway = EventGateway(store=None, outbox_size=100)  # type: ignore[arg-type]
        relay = TelemetryRelay(store=None, gateway=gateway, stats=LiveStats())  # type: ignore[arg-type]
        watcher = client(gateway, {JOB}, None)
        pending = PendingTelemetry()
        pending.add(
            TelemetryNotice("1-0", TelemetryKind.METRIC, JOB, json.dumps({"step": 1, "values": {}, "points": 1}))
        )
        relay.pending[JOB] = pending
        running = lifecycle.start(lifecycle.new_job(JOB, "noop", {}, []), "celery@test")
        gateway.dispatch(JobEvent(id="2-0", event=EventName.PROGRESS, job=running))
        after_progress, left_after_progress = drain(watcher), list(relay.pending)
        finished = lifecycle.finish(running, JobState.SUCCEEDED)
        gateway.dispatch(JobEvent(id="3-0", event=EventName.SUCCEEDED, job=finished))
        return after_progress, left_after_progress, drain(watcher), list(relay.pending)

    after_progress, left_after_progress, after_finish, left = asyncio.run(scenario())
    assert after_progress == ["job.progress"] and left_after_progress == [JOB]
    assert after_finish == ["metric", "job.succeeded"] and left == []
