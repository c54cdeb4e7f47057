"""Case 1: `POST /api/generate` requests/s against a bare `apply_async` loop and a plain
FastAPI `GET /health`, interleaved round by round so drift on a shared machine hits all three."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from celery import Celery

from bench.bare import BARE_SUBMIT_QUEUE, SUBMIT_FLOOR_QUEUE
from bench.cases.common import GENERATE_BODY, LoadRun, run_load
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from myspinbot.worker.wire import broker_lists

CASE = "1 submit"


@dataclass
class PublishRun:
    rps: float
    cpu_us_per_call: float


def apply_async_loop(celery: Celery, seconds: float) -> PublishRun:
    """`apply_async` of a no-op task in a loop on one thread, for `seconds`."""
    task = celery.tasks["bench.noop"]
    for _ in range(200):  # warm-up: connection, producer pool, routes
        task.apply_async(queue=BARE_SUBMIT_QUEUE)
    count = 0
    cpu_before = time.thread_time()
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        task.apply_async(queue=BARE_SUBMIT_QUEUE)
        count += 1
    elapsed = time.perf_counter() - started
    return PublishRun(rps=count / elapsed, cpu_us_per_call=(time.thread_time() - cpu_before) / count * 1e6)


async def run(stack: BenchStack, plan: Plan, report: Report, bare_celery: Celery) -> float:
    """Returns our submit throughput (req/s), which case 2 loads the API at half of."""
    assert stack.api is not None and stack.bare_http is not None
    ours: list[LoadRun] = []
    bare_publish: list[PublishRun] = []
    bare_http: list[LoadRun] = []
    floor: list[LoadRun] = []
    for _ in range(plan.rounds):
        ours.append(
            await run_load(
                stack,
                stack.api_port,
                stack.api.pid,
                "POST",
                "/api/generate",
                GENERATE_BODY,
                connections=plan.connections,
                seconds=plan.seconds,
            )
        )
        bare_publish.append(await asyncio.to_thread(apply_async_loop, bare_celery, plan.seconds))
        bare_http.append(
            await run_load(
                stack,
                stack.bare_http_port,
                stack.bare_http.pid,
                "GET",
                "/health",
                None,
                connections=plan.connections,
                seconds=plan.seconds,
            )
        )
        floor.append(
            await run_load(
                stack,
                stack.bare_http_port,
                stack.bare_http.pid,
                "POST",
                "/submit",
                GENERATE_BODY,
                connections=plan.connections,
                seconds=plan.seconds,
            )
        )
    with stack.redis() as client:
        # nobody consumes these queues (the records are flushed with the store after case 2)
        client.delete(*broker_lists("generate"), BARE_SUBMIT_QUEUE, SUBMIT_FLOOR_QUEUE)
    ours_rps = statistics.median(run.rps for run in ours)
    report.add(
        Row(
            case=CASE,
            metric=f"POST /api/generate vs apply_async loop (c={plan.connections})",
            ours=ours_rps,
            unit="req/s",
            baseline=statistics.median(run.rps for run in bare_publish),
            check="ratio>=",
            limit=1.0,
        )
    )
    report.add(
        Row(
            case=CASE,
            metric="POST /api/generate vs plain FastAPI GET /health",
            ours=ours_rps,
            unit="req/s",
            baseline=statistics.median(run.rps for run in bare_http),
        )
    )
    report.add(
        Row(
            case=CASE,
            metric="… vs the floor: plain FastAPI POST, same validation, 1 Lua call (record + event + same message)",
            ours=ours_rps,
            unit="req/s",
            baseline=statistics.median(run.rps for run in floor),
        )
    )
    report.add(
        Row(
            case=CASE,
            metric="CPU per submit (API process) vs per floor POST",
            ours=statistics.median(run.cpu_us_per_request for run in ours),
            unit="µs",
            baseline=statistics.median(run.cpu_us_per_request for run in floor),
        )
    )
    report.add(
        Row(
            case=CASE,
            metric="CPU per submit (API process) vs per apply_async",
            ours=statistics.median(run.cpu_us_per_request for run in ours),
            unit="µs",
            baseline=statistics.median(run.cpu_us_per_call for run in bare_publish),
        )
    )
    report.details["submit"] = {
        "ours": [vars(run) for run in ours],
        "bare_apply_async": [vars(run) for run in bare_publish],
        "bare_fastapi_health": [vars(run) for run in bare_http],
        "floor_fastapi_submit": [vars(run) for run in floor],
    }
    return ours_rps
