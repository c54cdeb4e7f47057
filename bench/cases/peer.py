"""Case 6: the seed's stack (Node: Fastify + BullMQ + WebSockets, bench/peer) doing the same work
on the same Redis: submit req/s, zero-step worker jobs/s at the same concurrency, submit → started
event, and fan-out to the same clients. Each row is ours against the peer (ratio = ours / peer).

Ours comes from the same run: submits are measured here, interleaved with the peer's; the worker,
latency and fan-out figures are the ones cases 4, 3 and 5 measured minutes before.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from bench.cases.common import GENERATE_BODY, LoadRun, cpu_seconds, run_load
from bench.cases.fanout import SwarmProcess, histogram_percentile
from bench.cases.latency import WARMUP, EventLog
from bench.cases.workers import drain_rate
from bench.httpclient import HttpConnection, build_request
from bench.peer_stack import PeerInstall, PeerStack, PeerUnavailable, install_peer
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from bench.wsclient import WsConnection
from myspinbot.worker.wire import broker_lists

CASE = "6 Node peer"
WORKER_CONCURRENCY = 2  # ours: one worker, -c 2 prefork (case 4)
BROADCAST = {b"active", b"progress", b"completed", b"failed"}  # the queue events the peer sends on


async def submit_rows(stack: BenchStack, peer: PeerStack, plan: Plan, report: Report) -> None:
    assert stack.api is not None and peer.api is not None
    ours: list[LoadRun] = []
    theirs: list[LoadRun] = []
    for _ in range(plan.rounds):
        for runs, port, pid in ((ours, stack.api_port, stack.api.pid), (theirs, peer.port, peer.api.pid)):
            runs.append(
                await run_load(
                    stack,
                    port,
                    pid,
                    "POST",
                    "/api/generate",
                    GENERATE_BODY,
                    connections=plan.connections,
                    seconds=plan.seconds,
                )
            )
    with stack.redis() as client:
        client.delete(*broker_lists("generate"))  # nobody consumes our generate queue in the bench
    report.add(
        Row(
            CASE,
            f"POST /api/generate req/s (c={plan.connections}) vs peer's POST (queue.add)",
            statistics.median(run.rps for run in ours),
            "req/s",
            baseline=statistics.median(run.rps for run in theirs),
        )
    )
    report.add(
        Row(
            CASE,
            "CPU per submit (API process) vs peer's (Node process)",
            statistics.median(run.cpu_us_per_request for run in ours),
            "µs",
            baseline=statistics.median(run.cpu_us_per_request for run in theirs),
        )
    )
    report.details["peer"]["submit"] = {"ours": [vars(r) for r in ours], "peer": [vars(r) for r in theirs]}


async def worker_rows(stack: BenchStack, peer: PeerStack, plan: Plan, report: Report) -> None:
    count = plan.worker_jobs
    await asyncio.to_thread(peer.fill, count)
    peer.start_worker(WORKER_CONCURRENCY)
    rate = await asyncio.to_thread(drain_rate, stack, peer.queue_key, count, 30 + count / 100)
    ours = report.details.get("workers", {}).get("ours")
    report.add(
        Row(
            CASE,
            f"zero-step jobs/s at concurrency {WORKER_CONCURRENCY} vs peer's BullMQ worker",
            ours if ours is not None else float("nan"),
            "jobs/s",
            baseline=rate,
        )
    )
    report.details["peer"]["worker_jobs_per_s"] = rate


async def latency_rows(peer: PeerStack, plan: Plan, report: Report) -> None:
    """Sequential submits to the peer; submit → `job.started` frame on its WebSocket."""
    log = EventLog()
    ws = await WsConnection.open("127.0.0.1", peer.port, "/ws", log.on_text)
    http = await HttpConnection.open("127.0.0.1", peer.port)
    raw = build_request("POST", "/api/generate", f"127.0.0.1:{peer.port}", b"{}")
    running: list[float] = []
    try:
        for index in range(WARMUP + plan.latency_jobs):
            submitted = time.time()
            status, body = await http.request(raw)
            if status != 202:
                raise RuntimeError(f"peer submit answered {status}: {body[:200]!r}")
            job_id = json.loads(body)["id"]
            started = await log.wait(job_id, "job.started")
            await log.wait(job_id, "job.succeeded")
            log.arrivals.pop(job_id, None)
            if index >= WARMUP:
                running.append(started - submitted)
    finally:
        ws.close()
        http.close()
    ours = report.details.get("latency", {})
    for pct in (50, 99):
        report.add(
            Row(
                CASE,
                f"submit → started event p{pct} vs peer's",
                ours.get(f"running_p{pct}_ms", float("nan")),
                "ms",
                baseline=percentile(running, pct) * 1000,
            )
        )


def peer_event_ids(stack: BenchStack, peer: PeerStack, after: str, job_id: str) -> list[str]:
    """Ids of the job's queue events the peer broadcasts, appended after `after`."""
    with stack.redis() as client:
        entries = client.xrange(peer.events_key, min=f"({after}", max="+")
    found = []
    for entry_id, fields in entries:
        if fields.get(b"jobId") == job_id.encode() and fields.get(b"event") in BROADCAST:
            found.append(entry_id.decode())
    return found


async def fanout_rows(stack: BenchStack, peer: PeerStack, plan: Plan, report: Report) -> None:
    """The same swarm of clients on the peer, one job at case 5's first rate."""
    assert peer.api is not None
    rate, seconds = plan.fanout_rates[0], plan.fanout_seconds
    per_process = plan.fanout_clients // plan.fanout_processes
    swarms = [SwarmProcess(peer.port, per_process) for _ in range(plan.fanout_processes)]
    http = await HttpConnection.open("127.0.0.1", peer.port)
    host = f"127.0.0.1:{peer.port}"
    try:
        connected = sum(await asyncio.gather(*(swarm.start() for swarm in swarms)))
        await asyncio.sleep(1.0)
        with stack.redis() as client:
            last = client.xrevrange(peer.events_key, count=1)
        after = last[0][0].decode() if last else "0-0"
        cpu_before, wall_before = cpu_seconds(peer.api.pid), time.perf_counter()
        status, job = await http.request_json(
            "POST", "/api/generate", host, {"steps": max(5, int(rate * seconds)), "rate": rate}
        )
        if status != 202:
            raise RuntimeError(f"could not submit the peer's events job: {status} {job}")
        job_id = job["id"]
        deadline = time.monotonic() + seconds * 3 + 30
        while job.get("state") != "completed":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the peer's events job did not finish: {job}")
            await asyncio.sleep(0.1)
            _, job = await http.request_json("GET", f"/api/jobs/{job_id}", host)
        await asyncio.sleep(0.5)  # frames still in flight
        cpu_share = (cpu_seconds(peer.api.pid) - cpu_before) / (time.perf_counter() - wall_before)
        ids = peer_event_ids(stack, peer, after, job_id)
        answers = await asyncio.gather(*(swarm.command(f"report {job_id}") for swarm in swarms))
    finally:
        http.close()
        await asyncio.gather(*(swarm.stop() for swarm in swarms))
    per_client = [count for answer in answers for count in answer["per_client"]]
    histogram: dict[int, int] = {}
    for answer in answers:
        for key, value in answer["histogram"].items():
            histogram[int(key)] = histogram.get(int(key), 0) + value
    lost = sum(max(0, len(ids) - count) for count in per_client)
    phases: list[dict[str, Any]] = report.details.get("fanout", {}).get("phases", [])
    ours = next((phase for phase in phases if phase["rate"] == rate), None)
    label = f"{connected:,} clients at {rate:g} events/s"
    nan = float("nan")
    report.add(Row(CASE, f"{label}: delivery p50 vs peer's", ours["p50_ms"] if ours else nan, "ms",
                   baseline=histogram_percentile(histogram, 50)))  # fmt: skip
    report.add(Row(CASE, f"{label}: delivery p99 vs peer's", ours["p99_ms"] if ours else nan, "ms",
                   baseline=histogram_percentile(histogram, 99)))  # fmt: skip
    report.add(Row(CASE, f"{label}: API CPU (share of a core) vs peer's", ours["api_cpu_share"] * 100 if ours else nan,
                   "%", baseline=cpu_share * 100))  # fmt: skip
    report.add(Row(CASE, f"{label}: events lost by the peer (ours: {ours['lost'] if ours else '-'})", lost, ""))
    report.details["peer"]["fanout"] = {"clients": connected, "events": len(ids), "lost": lost, "cpu_share": cpu_share}


async def run(stack: BenchStack, plan: Plan, report: Report) -> None:
    """Install and start the peer, measure it, stop it; without Node the rows say why."""
    try:
        install: PeerInstall = await asyncio.to_thread(install_peer)
    except PeerUnavailable as error:
        report.add(Row(CASE, f"not measured: {error}", float("nan"), ""))
        report.details["peer"] = {"unavailable": str(error)}
        return
    report.details["peer"] = {"versions": install.versions}
    peer = PeerStack(install, stack.redis_url, stack.logs)
    try:
        await asyncio.to_thread(peer.start_api)
        await submit_rows(stack, peer, plan, report)
        await worker_rows(stack, peer, plan, report)
        await latency_rows(peer, plan, report)
        await fanout_rows(stack, peer, plan, report)
    finally:
        await asyncio.to_thread(peer.stop)
