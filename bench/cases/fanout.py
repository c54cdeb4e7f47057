"""Case 5: 1,000 /ws clients subscribed to every job while a worker's job emits events at
20/s, then at rising rates until an event is lost or the median delivery passes 250 ms; the highest
rate that kept p99 ≤ 100 ms with nothing lost is the fan-out figure.

The clients run in their own processes (`bench.fanout_clients`), apart from the API's.
Delivery latency = arrival time at the client - the event's stream id (Redis's clock at
XADD, in ms); lost = events of the job in the stream that a client never received.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import psutil

from bench.cases.common import cpu_seconds
from bench.fanout_clients import BIN_MS
from bench.httpclient import HttpConnection
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import REPO_ROOT, BenchStack

CASE = "5 fan-out"
EVENTS_KEY = "myspinbot:events"
P99_CEILING_MS = 100.0
GIVE_UP_P50_MS = 250.0  # the median, not the tail: one GC pause must not end the ramp


class SwarmProcess:
    """A child process holding many /ws clients, driven by line commands."""

    def __init__(self, port: int, clients: int, extra_args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.clients = clients
        self.extra_args = extra_args  # e.g. --keys and --first-index (bench.cases.filtered)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fanout_clients",
            "--port",
            str(self.port),
            "--clients",
            str(self.clients),
            *self.extra_args,
            cwd=REPO_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**26,
        )
        ready = await self._answer(timeout=120)
        if int(ready["ready"]) < self.clients:
            # Counted as not ready, and their events as lost: say why, the losses are read with it.
            missing = self.clients - int(ready["ready"])
            why = f"errors {ready.get('failed')}, closed by the API {ready.get('closed')}"
            print(f"bench: {missing} of {self.clients} clients are not connected ({why})", file=sys.stderr)
        return int(ready["ready"])

    async def command(self, line: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self._answer()

    async def _answer(self, timeout: float = 30) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("a fan-out client process ended early")
        found: dict[str, Any] = json.loads(line)
        return found

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.write(b"quit\n")
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Phase:
    rate: float
    events: int
    clients_alive: int
    frames: int
    lost: int
    frames_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    api_cpu_share: float
    api_rss_mib: float
    slowest_events: dict[str, float]  # the events whose last frame came latest (ms after XADD)
    api_errors: list[str]  # non-200 answers to the bench's own polling of the job, if any

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.p99_ms <= P99_CEILING_MS


def histogram_percentile(histogram: dict[int, int], pct: float) -> float:
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank = pct / 100 * total
    seen = 0
    for key in sorted(histogram):
        seen += histogram[key]
        if seen >= rank:
            return (key + 1) * BIN_MS
    return max(histogram) * BIN_MS


def job_events(stack: BenchStack, after_id: str, job_id: str) -> list[str]:
    """Stream ids of the job's events appended after `after_id`."""
    with stack.redis() as client:
        entries = client.xrange(EVENTS_KEY, min=f"({after_id}", max="+")
    return [entry_id.decode() for entry_id, fields in entries if job_id.encode() in fields[b"j"][:80]]


def latest_event_id(stack: BenchStack) -> str:
    with stack.redis() as client:
        last = client.xrevrange(EVENTS_KEY, count=1)
    return last[0][0].decode() if last else "0-0"


async def run_phase(
    stack: BenchStack, swarms: list[SwarmProcess], http: HttpConnection, rate: float, seconds: float
) -> Phase:
    assert stack.api is not None
    host = f"127.0.0.1:{stack.api_port}"
    steps = max(5, int(rate * seconds))
    after = latest_event_id(stack)
    cpu_before, wall_before = cpu_seconds(stack.api.pid), time.perf_counter()
    status, job = await http.request_json("POST", "/api/jobs/events", host, {"steps": steps, "rate": rate})
    if status != 202:
        raise RuntimeError(f"could not submit the events job: {status} {job}")
    job_id, errors = job["id"], []
    deadline = time.monotonic() + seconds * 3 + 30
    while job.get("state") not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the events job did not finish: {job}")
        await asyncio.sleep(0.1)
        status, job = await http.request_json("GET", f"/api/jobs/{job_id}", host)
        if status != 200:  # an overloaded API may answer 503; keep the answer for the report
            errors.append(f"{status} {json.dumps(job)[:200]}")
            job = {}
    await asyncio.sleep(0.5)  # frames still in flight
    cpu = cpu_seconds(stack.api.pid) - cpu_before
    wall = time.perf_counter() - wall_before
    rss = psutil.Process(stack.api.pid).memory_info().rss / 2**20
    ids = job_events(stack, after, job_id)
    answers = await asyncio.gather(*(swarm.command(f"report {job_id}") for swarm in swarms))
    per_client = [count for answer in answers for count in answer["per_client"]]
    histogram: dict[int, int] = {}
    for answer in answers:
        for key, value in answer["histogram"].items():
            histogram[int(key)] = histogram.get(int(key), 0) + value
    span = (int(ids[-1].split("-")[0]) - int(ids[0].split("-")[0])) / 1000 if len(ids) > 1 else seconds
    frames = sum(per_client)
    return Phase(
        rate=rate,
        events=len(ids),
        clients_alive=sum(answer["alive"] for answer in answers),
        frames=frames,
        lost=sum(max(0, len(ids) - count) for count in per_client),
        frames_per_s=frames / max(span, 0.001),
        p50_ms=histogram_percentile(histogram, 50),
        p99_ms=histogram_percentile(histogram, 99),
        max_ms=histogram_percentile(histogram, 100),
        api_cpu_share=cpu / wall,
        api_rss_mib=rss,
        slowest_events=dict(
            sorted(
                ((event_id, ms) for answer in answers for event_id, ms in answer["slowest"].items()),
                key=lambda item: -item[1],
            )[:5]
        ),
        api_errors=errors[:5],
    )


async def run(stack: BenchStack, plan: Plan, report: Report) -> None:
    assert stack.api is not None
    idle_rss = psutil.Process(stack.api.pid).memory_info().rss / 2**20
    per_process = plan.fanout_clients // plan.fanout_processes
    swarms = [SwarmProcess(stack.api_port, per_process) for _ in range(plan.fanout_processes)]
    http = await HttpConnection.open("127.0.0.1", stack.api_port)
    phases: list[Phase] = []
    try:
        connected = sum(await asyncio.gather(*(swarm.start() for swarm in swarms)))
        await asyncio.sleep(1.0)
        # The first seconds after 1,000 connections pay for their set-up (the API's collector
        # scans the new objects): measured and reported, but apart from the steady state.
        warmup = await run_phase(stack, swarms, http, plan.fanout_rates[0], plan.fanout_warmup_seconds)
        for rate in plan.fanout_rates:
            phase = await run_phase(stack, swarms, http, rate, plan.fanout_seconds)
            phases.append(phase)
            if phase.lost or phase.p50_ms > GIVE_UP_P50_MS:  # past capacity: higher rates only take longer
                break
    finally:
        http.close()
        await asyncio.gather(*(swarm.stop() for swarm in swarms))
    clients = f"{connected:,} clients"
    first = phases[0]
    passing = [phase for phase in phases if phase.ok]
    best = passing[-1] if passing else first
    best_label = (
        f"highest rate with p99 ≤ 100 ms and 0 lost: {best.rate:g} events/s"
        if passing
        else f"no rate kept p99 ≤ 100 ms; at {best.rate:g} events/s"
    )
    lossless = [phase for phase in phases if phase.lost == 0]
    rows = [
        Row(
            CASE,
            f"{clients}, first {plan.fanout_warmup_seconds:g} s after connecting: p50 {warmup.p50_ms:.1f} ms, "
            f"lost {warmup.lost}; delivery p99",
            warmup.p99_ms,
            "ms",
        ),
        Row(CASE, f"{clients} at {first.rate:g} events/s: delivery p50", first.p50_ms, "ms"),
        Row(CASE, f"{clients} at {first.rate:g} events/s: delivery p99", first.p99_ms, "ms", check="<=", limit=50),
        Row(CASE, f"{clients} at {first.rate:g} events/s: events lost", first.lost, "", check="==", limit=0),
        Row(CASE, f"{best_label}: frames/s delivered", best.frames_per_s, "frames/s", check=">=", limit=40_000),
        Row(
            CASE,
            f"… at {best.rate:g} events/s: delivery p50 / p99 {best.p50_ms:.1f} / {best.p99_ms:.1f} ms; events lost",
            best.lost,
            "",
            check="==",
            limit=0,
        ),
        Row(
            CASE,
            f"API RSS with {clients} (idle: {idle_rss:.0f} MiB)",
            max(phase.api_rss_mib for phase in phases),
            "MiB",
            check="<=",
            limit=150,
        ),
        Row(CASE, f"API CPU at {best.rate:g} events/s (share of one core)", best.api_cpu_share * 100, "%"),
    ]
    if lossless and lossless[-1] is not best:
        top = lossless[-1]
        rows.append(
            Row(
                CASE,
                f"highest rate tried with 0 lost, any latency: {top.rate:g} events/s "
                f"(p50 / p99 {top.p50_ms:.0f} / {top.p99_ms:.0f} ms), frames/s",
                top.frames_per_s,
                "frames/s",
            )
        )
    for phase in [warmup, *phases]:
        if phase.api_errors:
            first_error = phase.api_errors[0][:80]
            rows.append(Row(CASE, f"errors polling the job at {phase.rate:g} events/s: {first_error}", 1, ""))
    for row in rows:
        report.add(row)
    report.details["fanout"] = {
        "clients": connected,
        "idle_rss_mib": idle_rss,
        "warmup": vars(warmup),
        "phases": [vars(phase) for phase in phases],
    }
