"""Case 7: run telemetry — metric points ingested per second while `/health` stays quick, and the
coalesced delivery of one job's metrics to many watchers.

Ingest: `telemetry_jobs` jobs of the `metrics` bench type report a point per step as fast as
they can (two worker processes); the rate is the global ingested counter's growth over the
time they ran. `/health` is probed at a steady rate meanwhile and compared with `/health` alone
(target: p99 within 3× of idle). Watchers: `telemetry_watchers` /ws clients subscribed to one
job reporting 2,000 points/s; each should get a few `job.metric` frames a second (the relay
sends at most 4 per job per second whatever the point rate), every client some.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.cases.common import probe_health
from bench.httpclient import HttpConnection
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from bench.wsclient import WsConnection

CASE = "7 telemetry"
WATCHED_RATE = 2000.0  # points per second of the watched job
MAX_FRAMES_PER_SECOND = 4.5  # the relay's 4 per second, and a little slack for the window's edges


def ingested(stack: BenchStack) -> int:
    """Metric points the store kept so far (all jobs)."""
    with stack.redis() as client:
        return int(client.hget("myspinbot:stats", "telemetry_points") or 0)


async def submit(stack: BenchStack, body: dict[str, object]) -> str:
    conn = await HttpConnection.open("127.0.0.1", stack.api_port)
    try:
        status, job = await conn.request_json("POST", "/api/jobs/metrics", f"127.0.0.1:{stack.api_port}", body)
    finally:
        conn.close()
    if status != 202:
        raise RuntimeError(f"submit answered {status}: {job}")
    return str(job["id"])


async def wait_finished(stack: BenchStack, job_ids: list[str], timeout: float = 120) -> None:
    conn = await HttpConnection.open("127.0.0.1", stack.api_port)
    deadline = time.monotonic() + timeout
    try:
        for job_id in job_ids:
            while True:
                _, job = await conn.request_json("GET", f"/api/jobs/{job_id}", f"127.0.0.1:{stack.api_port}")
                if job.get("state") in ("succeeded", "failed", "cancelled"):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"metric job {job_id} did not finish")
                await asyncio.sleep(0.05)
    finally:
        conn.close()


@dataclass(frozen=True)
class Ingest:
    """Points/s ingested, and /health latencies (s) of our API and of the floor app, idle and meanwhile."""

    rate: float
    idle: list[float]
    busy: list[float]
    floor_idle: list[float]
    floor_busy: list[float]
    redis_floor_idle: list[float]  # the floor app's /health/redis: one Redis call, as ours makes
    redis_floor_busy: list[float]


async def measure_ingest(stack: BenchStack, plan: Plan) -> Ingest:
    """The floor app is probed alongside, twice: its constant `/health` (no Redis, its own process:
    on two cores the workers' ingest takes CPU from every process, whatever the API does), and its
    `/health/redis`, which makes the one Redis call our `/health` makes (the ingest keeps Redis
    busy, and every client's command waits its turn there)."""
    stack.start_bare_http()
    assert stack.bare_http_port is not None
    try:
        idle = await probe_health(stack.api_port, plan.seconds, plan.health_rate)
        floor_idle = await probe_health(stack.bare_http_port, plan.seconds, plan.health_rate)
        redis_floor_idle = await probe_health(stack.bare_http_port, plan.seconds, plan.health_rate, "/health/redis")
        before = ingested(stack)
        started = time.monotonic()
        jobs = [await submit(stack, {"points": plan.telemetry_points}) for _ in range(plan.telemetry_jobs)]
        probes = asyncio.gather(
            probe_health(stack.api_port, plan.seconds, plan.health_rate),
            probe_health(stack.bare_http_port, plan.seconds, plan.health_rate),
            probe_health(stack.bare_http_port, plan.seconds, plan.health_rate, "/health/redis"),
        )
        await wait_finished(stack, jobs)
        took = time.monotonic() - started
        busy, floor_busy, redis_floor_busy = await probes
    finally:
        stack.stop_child(stack.bare_http)
    rate = (ingested(stack) - before) / took
    return Ingest(rate, idle, busy, floor_idle, floor_busy, redis_floor_idle, redis_floor_busy)


async def measure_watchers(stack: BenchStack, plan: Plan) -> dict[str, float]:
    """Frames per watcher per second, and how many watchers got any, for one job at WATCHED_RATE points/s."""
    points = int(WATCHED_RATE * (plan.telemetry_watch_seconds + 2))
    job_id = await submit(stack, {"points": points, "rate": WATCHED_RATE})
    counts = [0] * plan.telemetry_watchers
    represented = [0] * plan.telemetry_watchers

    def counter(index: int) -> Callable[[bytes, float], None]:
        def on_text(payload: bytes, received_at: float) -> None:
            frame = json.loads(payload)
            if frame.get("type") == "job.metric" and counting:
                counts[index] += 1
                represented[index] += int(frame.get("points", 0))

        return on_text

    counting = False
    clients = [
        await WsConnection.open("127.0.0.1", stack.api_port, f"/ws?jobs={job_id}", counter(index))
        for index in range(plan.telemetry_watchers)
    ]
    try:
        await asyncio.sleep(1.0)  # the job starts and its first frames go out
        counting = True
        await asyncio.sleep(plan.telemetry_watch_seconds)
        counting = False
    finally:
        for client in clients:
            client.close()
    await wait_finished(stack, [job_id])
    seconds = plan.telemetry_watch_seconds
    return {
        "frames_per_watcher_per_second": sum(counts) / len(counts) / seconds,
        "watchers_with_frames": float(sum(1 for count in counts if count)),
        "points_per_frame": sum(represented) / max(1, sum(counts)),
    }


async def run(stack: BenchStack, plan: Plan, report: Report) -> None:
    ingest = await measure_ingest(stack, plan)
    rate, idle, busy = ingest.rate, ingest.idle, ingest.busy
    watch = await measure_watchers(stack, plan)
    workers = "2 worker processes"
    report.add(Row(case=CASE, metric=f"metric points ingested per second ({workers})", ours=rate, unit="points/s"))
    report.add(
        Row(
            case=CASE,
            metric="/health p99 while metric points are ingested vs idle",
            ours=percentile(busy, 99) * 1000,
            unit="ms",
            baseline=percentile(idle, 99) * 1000,
            check="ratio<=",
            limit=3.0,
        )
    )
    floors = (
        ("/health p99 (a constant answer, its own process)", ingest.floor_busy, ingest.floor_idle),
        ("/health/redis p99 (one Redis call, as our /health makes)", ingest.redis_floor_busy, ingest.redis_floor_idle),
    )
    for probe, floor_busy, floor_idle in floors:
        report.add(
            Row(
                case=CASE,
                metric=f"… the floor app's {probe} meanwhile vs alone",
                ours=percentile(floor_busy, 99) * 1000,
                unit="ms",
                baseline=percentile(floor_idle, 99) * 1000,
            )
        )
    report.add(
        Row(
            case=CASE,
            metric=f"job.metric frames per watcher per second ({plan.telemetry_watchers} watchers, "
            f"{WATCHED_RATE:,.0f} points/s)",
            ours=watch["frames_per_watcher_per_second"],
            unit="frames/s",
            check="<=",
            limit=MAX_FRAMES_PER_SECOND,
        )
    )
    report.add(
        Row(
            case=CASE,
            metric=f"watchers that got metric frames (of {plan.telemetry_watchers})",
            ours=watch["watchers_with_frames"],
            unit="clients",
            check=">=",
            limit=float(plan.telemetry_watchers),
        )
    )
    report.details["telemetry"] = {
        "points_per_job": plan.telemetry_points,
        "jobs": plan.telemetry_jobs,
        "ingest_points_per_second": rate,
        "health_idle_p99_ms": percentile(idle, 99) * 1000,
        "health_busy_p99_ms": percentile(busy, 99) * 1000,
        "floor_health_idle_p99_ms": percentile(ingest.floor_idle, 99) * 1000,
        "floor_health_busy_p99_ms": percentile(ingest.floor_busy, 99) * 1000,
        "floor_health_redis_idle_p99_ms": percentile(ingest.redis_floor_idle, 99) * 1000,
        "floor_health_redis_busy_p99_ms": percentile(ingest.redis_floor_busy, 99) * 1000,
        **watch,
    }
