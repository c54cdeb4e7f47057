"""Case 9: what priority-ordered dispatch costs. Zero-step jobs with priorities mixed (high,
normal and low in turn) against all at the same priority (normal), on the same worker:

- jobs/s: the queue is filled first, then `myspinbot worker -c 2 -P prefork` drains it, as in
  case 4 (kombu keeps one list per priority step and BRPOPs them in order, so mixed priorities
  spread one queue over three lists);
- submit → started event: jobs one after another on an idle worker, as in case 3.

Each pair is measured back to back in the same run; the ratio is mixed / same.
"""

from __future__ import annotations

import asyncio

from bench.cases.latency import our_latencies
from bench.cases.workers import drain_rate, fill_our_queue, finished_noop_jobs
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from myspinbot import Settings
from myspinbot.cli.procs import wait_until
from myspinbot.core.queueing import Priority
from myspinbot.worker.wire import broker_lists

CASE = "9 priorities"
MIXED = (Priority.HIGH, Priority.NORMAL, Priority.LOW)
SAME = (Priority.NORMAL,)


async def drained(stack: BenchStack, settings: Settings, count: int, priorities: tuple[Priority, ...]) -> float:
    """Jobs/s of `count` noop jobs queued at `priorities` in turn, drained by a fresh worker."""
    stack.stop_worker()
    before = finished_noop_jobs(stack)
    await fill_our_queue(settings, count, priorities)
    stack.start_worker()
    timeout = 30 + count / 100
    rate = await asyncio.to_thread(drain_rate, stack, broker_lists("noop"), count, timeout)
    await asyncio.to_thread(
        wait_until, lambda: finished_noop_jobs(stack) - before >= count, timeout, "every noop job to succeed"
    )
    return rate


async def run(stack: BenchStack, plan: Plan, report: Report, settings: Settings) -> None:
    count = plan.priority_jobs
    rates = {"same": await drained(stack, settings, count, SAME), "mixed": await drained(stack, settings, count, MIXED)}
    await asyncio.to_thread(stack.ensure_worker)
    same = await our_latencies(stack, plan.latency_jobs, ("normal",))
    mixed = await our_latencies(stack, plan.latency_jobs, tuple(priority.value for priority in MIXED))
    runs = {"same": same, "mixed": mixed}
    report.add(Row(CASE, "zero-step jobs/s, priorities mixed vs all the same", rates["mixed"], "jobs/s", rates["same"]))
    for pct in (50, 99):
        report.add(
            Row(
                CASE,
                f"submit → started event p{pct}, priorities mixed vs all the same",
                percentile(mixed["running"], pct) * 1000,
                "ms",
                percentile(same["running"], pct) * 1000,
            )
        )
    report.details["priorities"] = {
        "jobs": count,
        "jobs_per_s": rates,
        **{
            f"started_p{pct}_ms": {name: percentile(found["running"], pct) * 1000 for name, found in runs.items()}
            for pct in (50, 99)
        },
    }
