"""Case 2: `/health` latency while submissions run, against `/health` alone, on our API.

A probe sends `GET /health` at a steady rate on one connection, from this process; the
submit load comes from a load generator in another process, so neither starves the other's
event loop. The target is held at half the submit capacity measured in case 1 (open loop):
a publish that blocked the loop would show there. With submits saturating the API, every
request queues behind the others and the OS shares two cores among four busy processes, so
that figure is reported for information. Rounds alternate; samples of all rounds are pooled.
"""

from __future__ import annotations

from bench.cases.common import GENERATE_BODY, LoadProcess, probe_health
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from myspinbot.worker.wire import broker_lists

CASE = "2 event loop"
LOAD_SHARE = 0.5  # of the submit capacity measured in case 1


async def run(stack: BenchStack, plan: Plan, report: Report, capacity: float | None) -> None:
    """`capacity`: our submit throughput from case 1, if it ran (else the plan's default)."""
    rate = round((capacity or plan.submit_capacity_guess) * LOAD_SHARE)
    alone: list[float] = []
    steady: list[float] = []
    saturated: list[float] = []
    submits: list[dict[str, object]] = []
    for _ in range(plan.rounds):
        alone += await probe_health(stack.api_port, plan.seconds, plan.health_rate)
        for submit_rate, samples in ((rate, steady), (None, saturated)):
            load = LoadProcess(
                stack.api_port,
                "POST",
                "/api/generate",
                GENERATE_BODY,
                connections=plan.connections,
                seconds=plan.seconds + 1.0,
            )
            await load.start(rate=submit_rate)
            samples += await probe_health(stack.api_port, plan.seconds, plan.health_rate)
            submits.append({"rate": submit_rate, **await load.result()})
    with stack.redis() as client:
        client.delete(*broker_lists("generate"))
    rows = [
        (f"/health p50 with {rate:,} submits/s (half of capacity) vs alone", steady, 50, None),
        (f"/health p99 with {rate:,} submits/s (half of capacity) vs alone", steady, 99, 3.0),
        (f"/health p99 with submits saturating the API (c={plan.connections}) vs alone", saturated, 99, None),
    ]
    for metric, samples, pct, limit in rows:
        report.add(
            Row(
                case=CASE,
                metric=metric,
                ours=percentile(samples, pct) * 1000,
                unit="ms",
                baseline=percentile(alone, pct) * 1000,
                check="ratio<=" if limit else None,
                limit=limit,
            )
        )
    report.details["loop_health"] = {
        "submit_rate": rate,
        "samples": {"alone": len(alone), "steady": len(steady), "saturated": len(saturated)},
        "submits": submits,
    }
