"""Case 3: submit → first `running` event on /ws, and submit → `succeeded`, for zero-step
jobs one after another, against a bare Celery `apply_async().get()` round trip.

The clock starts just before the POST is written and stops when the frame arrives on a /ws
connection (subscribed to every job) held open by this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

from celery import Celery

from bench.bare import BARE_QUEUE
from bench.httpclient import HttpConnection, build_request
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from bench.wsclient import WsConnection

CASE = "3 latency"
WARMUP = 20


class EventLog:
    """When each (job id, event) frame arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, dict[str, float]] = {}
        self.changed = asyncio.Event()

    def on_text(self, payload: bytes, received_at: float) -> None:
        frame = json.loads(payload)
        if frame.get("type") == "event":
            self.arrivals.setdefault(frame["job"]["id"], {})[frame["event"]] = received_at
            self.changed.set()

    async def wait(self, job_id: str, event: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while event not in self.arrivals.get(job_id, {}):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.001, deadline - time.monotonic()))
        return self.arrivals[job_id][event]


async def our_latencies(stack: BenchStack, jobs: int, priorities: Sequence[str] = ("",)) -> dict[str, list[float]]:
    """Seconds from submit to the 202, to `job.started` and to `job.succeeded`, per job; the
    jobs' `?priority=` taken in turn from `priorities` ("" for none)."""
    log = EventLog()
    ws = await WsConnection.open("127.0.0.1", stack.api_port, "/ws", log.on_text)
    http = await HttpConnection.open("127.0.0.1", stack.api_port)
    host = f"127.0.0.1:{stack.api_port}"
    requests = [
        build_request("POST", f"/api/jobs/noop?priority={priority}" if priority else "/api/jobs/noop", host, b"{}")
        for priority in priorities
    ]
    found: dict[str, list[float]] = {"accepted": [], "running": [], "succeeded": []}
    try:
        for index in range(WARMUP + jobs):
            submitted = time.time()
            status, body = await http.request(requests[index % len(requests)])
            accepted = time.time()
            if status != 202:
                raise RuntimeError(f"submit answered {status}: {body[:200]!r}")
            job_id = json.loads(body)["id"]
            started = await log.wait(job_id, "job.started")
            succeeded = await log.wait(job_id, "job.succeeded")
            log.arrivals.pop(job_id, None)
            if index >= WARMUP:
                found["accepted"].append(accepted - submitted)
                found["running"].append(started - submitted)
                found["succeeded"].append(succeeded - submitted)
    finally:
        ws.close()
        http.close()
    return found


def bare_round_trips(celery: Celery, jobs: int) -> list[float]:
    """Seconds of `apply_async().get()` of a no-op task, one after another."""
    task = celery.tasks["bench.echo"]
    found = []
    for index in range(WARMUP + jobs):
        started = time.perf_counter()
        task.apply_async(queue=BARE_QUEUE).get(timeout=10)
        if index >= WARMUP:
            found.append(time.perf_counter() - started)
    return found


async def run(stack: BenchStack, plan: Plan, report: Report, bare_celery: Celery) -> None:
    ours = await our_latencies(stack, plan.latency_jobs)
    bare = await asyncio.to_thread(bare_round_trips, bare_celery, plan.latency_jobs)
    bare_p50, bare_p99 = percentile(bare, 50) * 1000, percentile(bare, 99) * 1000
    rows = [
        ("submit → running event p50 vs round trip p50", percentile(ours["running"], 50), bare_p50, 3.0),
        ("submit → running event p99 vs round trip p99", percentile(ours["running"], 99), bare_p99, None),
        ("submit → succeeded event p50 vs round trip p50", percentile(ours["succeeded"], 50), bare_p50, None),
        ("submit → succeeded event p99 vs round trip p99", percentile(ours["succeeded"], 99), bare_p99, None),
        ("submit → 202 p50 vs round trip p50", percentile(ours["accepted"], 50), bare_p50, None),
    ]
    for metric, ours_seconds, baseline_ms, limit in rows:
        report.add(
            Row(
                case=CASE,
                metric=metric,
                ours=ours_seconds * 1000,
                unit="ms",
                baseline=baseline_ms,
                check="ratio<=" if limit else None,
                limit=limit,
            )
        )
    report.details["latency"] = {
        "jobs": plan.latency_jobs,
        "warmup": WARMUP,
        "running_p50_ms": percentile(ours["running"], 50) * 1000,
        "running_p99_ms": percentile(ours["running"], 99) * 1000,
    }
