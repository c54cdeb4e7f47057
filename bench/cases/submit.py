"""Case 1: `POST /api/generate` requests/s against a bare `apply_async` loop and a plain
FastAPI `GET /health`, interleaved round by round so drift on a shared machine hits all three."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
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


async def run(stack: BenchStack, plan: Plan, report: Report, bare_celery: Celery) -> tuple[float, float]:
    """Returns our submit throughput and the floor app's (req/s); case 2 loads each at half of its own."""
    assert stack.api is not None and stack.bare_http is not None
    api, bare_api = (stack.api_port, stack.api.pid), (stack.bare_http_port, stack.bare_http.pid)

    async def load(server: tuple[int, int], method: str, path: str, body: object) -> LoadRun:
        port, pid = server
        return await run_load(stack, port, pid, method, path, body, connections=plan.connections, seconds=plan.seconds)

    ours: list[LoadRun] = []
    bare_publish: list[PublishRun] = []
    bare_http: list[LoadRun] = []
    floor: list[LoadRun] = []
    for _ in range(plan.rounds):
        ours.append(await load(api, "POST", "/api/generate", GENERATE_BODY))
        bare_publish.append(await asyncio.to_thread(apply_async_loop, bare_celery, plan.seconds))
        bare_http.append(await load(bare_api, "GET", "/health", None))
        floor.append(await load(bare_api, "POST", "/submit", GENERATE_BODY))
    with stack.redis() as client:
        # nobody consumes these queues (the records are flushed with the store after case 2)
        client.delete(*broker_lists("generate"), BARE_SUBMIT_QUEUE, SUBMIT_FLOOR_QUEUE)
    ours_rps = statistics.median(run.rps for run in ours)
    ours_cpu = statistics.median(run.cpu_us_per_request for run in ours)
    floor_label = "… vs the floor: plain FastAPI POST, same validation, 1 Lua call (record + event + same message)"
    rows: list[tuple[str, float, str, Sequence[LoadRun | PublishRun], str]] = [
        (f"POST /api/generate vs apply_async loop (c={plan.connections})", ours_rps, "req/s", bare_publish, "rps"),
        ("POST /api/generate vs plain FastAPI GET /health", ours_rps, "req/s", bare_http, "rps"),
        (floor_label, ours_rps, "req/s", floor, "rps"),
        ("CPU per submit (API process) vs per floor POST", ours_cpu, "µs", floor, "cpu_us_per_request"),
        ("CPU per submit (API process) vs per apply_async", ours_cpu, "µs", bare_publish, "cpu_us_per_call"),
    ]
    for index, (metric, value, unit, runs, field) in enumerate(rows):
        baseline = statistics.median(getattr(run, field) for run in runs)
        first = index == 0  # the target row
        report.add(
            Row(
                case=CASE,
                metric=metric,
                ours=value,
                unit=unit,
                baseline=baseline,
                check="ratio>=" if first else None,
                limit=1.0 if first else None,
            )
        )
    report.details["submit"] = {
        "ours": [vars(run) for run in ours],
        "bare_apply_async": [vars(run) for run in bare_publish],
        "bare_fastapi_health": [vars(run) for run in bare_http],
        "floor_fastapi_submit": [vars(run) for run in floor],
    }
    return ours_rps, statistics.median(run.rps for run in floor)
