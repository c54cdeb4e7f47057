"""One run: start the stack, run the cases in an order that reuses what each one started."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Collection
from importlib.metadata import version
from pathlib import Path

from bench.bare import BARE_QUEUE, make_celery
from bench.cases import fanout, filtered, latency, loop_health, peer, priority, submit, telemetry, workers
from bench.plan import Plan
from bench.report import Report
from bench.stack import BenchStack
from myspinbot import Settings

ALL_CASES = ("1", "2", "3", "4", "5", "6", "7", "8", "9")


def bare_worker_ready(stack: BenchStack, timeout: float = 60) -> None:
    """Start the bare default worker if need be and wait until it answers a task."""
    celery = make_celery(stack.redis_url)
    if BARE_QUEUE not in stack.bare_workers:
        stack.start_bare_worker(BARE_QUEUE)
    celery.tasks["bench.echo"].apply_async(queue=BARE_QUEUE).get(timeout=timeout)


def software_versions(stack: BenchStack) -> dict[str, str]:
    """What ran: our Python packages and the Redis server (the Node peer's are under `peer`)."""
    packages = ("celery", "kombu", "redis", "hiredis", "fastapi", "uvicorn", "pydantic")
    found = {name: version(name) for name in packages}
    with stack.redis() as client:
        found["redis-server"] = str(client.info("server")["redis_version"])
    return found


async def run_cases(stack: BenchStack, plan: Plan, report: Report, cases: Collection[str]) -> None:
    # Seconds each case took, services it started included: where a plan's time goes.
    took: dict[str, float] = report.details.setdefault("case_seconds", {})
    timer = Stopwatch(took)
    stack.start_redis()
    settings = Settings(
        redis_url=stack.redis_url,
        data_dir=stack.root / "data",
        extra_plugins=["bench.jobtypes"],
        _env_file=None,
    )
    bare_celery = make_celery(stack.redis_url)
    stack.start_api()
    timer.lap("start")
    if {"1", "2"} & set(cases):
        stack.start_bare_http()
        capacity, floor_capacity = await submit.run(stack, plan, report, bare_celery) if "1" in cases else (None, None)
        timer.lap("1")
        if "2" in cases:
            await loop_health.run(stack, plan, report, capacity, floor_capacity)
        stack.stop_child(stack.bare_http)
        # The submit cases leave thousands of queued `generate` jobs that no worker takes; every
        # /ws client would get them in its first snapshot. Start the rest from an empty store.
        stack.restart_api(flush=True)
        timer.lap("2")
    if "4" in cases:
        await workers.run(stack, plan, report, settings, bare_celery)
        timer.lap("4")
    if "3" in cases:
        await asyncio.to_thread(stack.ensure_worker)
        await asyncio.to_thread(bare_worker_ready, stack)
        await latency.run(stack, plan, report, bare_celery)
        timer.lap("3")
    await stack.stop_side_by_side(*stack.bare_workers.values())
    if "5" in cases:
        await asyncio.to_thread(stack.ensure_worker)
        await fanout.run(stack, plan, report)
        timer.lap("5")
    if "7" in cases:
        await asyncio.to_thread(stack.ensure_worker)
        await telemetry.run(stack, plan, report)
        timer.lap("7")
    if "8" in cases:
        await filtered.run(stack, plan, report, settings)
        timer.lap("8")
    if "9" in cases:
        await priority.run(stack, plan, report, settings)
        timer.lap("9")
    if "6" in cases:
        await peer.run(stack, plan, report)
        timer.lap("6")
    report.details["versions"] = software_versions(stack)


class Stopwatch:
    """Writes the seconds since the previous lap under each lap's name."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = round(now - self.last, 1)
        self.last = now


async def run_bench(plan: Plan, command: str, cases: Collection[str] = ALL_CASES, keep: bool = False) -> Report:
    """Run the chosen cases of a plan on a fresh stack; the stack is stopped whatever happens."""
    root = Path(tempfile.mkdtemp(prefix="myspinbot-bench-"))
    stack = BenchStack(root)
    report = Report(profile=plan.name, command=command)
    started = time.perf_counter()
    failed = True
    try:
        await run_cases(stack, plan, report, cases)
        failed = False
    finally:
        await asyncio.to_thread(stack.stop)
        report.seconds = time.perf_counter() - started
        if failed or keep:
            print(f"bench: logs kept in {root / 'logs'}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return report
