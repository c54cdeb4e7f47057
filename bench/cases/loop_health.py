"""Case 2: `/health` latency while submissions run, against `/health` alone, on our API.

A probe sends `GET /health` at a steady rate on one connection, from this process; the
submit load comes from a load generator in another process, so neither starves the other's
event loop. Rounds alternate alone / under load; the samples of all rounds are pooled.
"""

from __future__ import annotations

from bench.cases.common import GENERATE_BODY, LoadProcess, probe_health
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile

CASE = "2 event loop"


async def run(stack: BenchStack, plan: Plan, report: Report, submit_rate: float | None = None) -> None:
    alone: list[float] = []
    loaded: list[float] = []
    submits: list[dict[str, object]] = []
    for _ in range(plan.rounds):
        alone += await probe_health(stack.api_port, plan.seconds, plan.health_rate)
        load = LoadProcess(
            stack.api_port, "POST", "/api/generate", GENERATE_BODY, connections=plan.connections,
            seconds=plan.seconds + 1.0,
        )  # fmt: skip
        await load.start(rate=submit_rate)
        loaded += await probe_health(stack.api_port, plan.seconds, plan.health_rate)
        submits.append(await load.result())
    with stack.redis() as client:
        client.delete("generate")
    label = f"{submit_rate:g}/s" if submit_rate else f"c={plan.connections}, closed loop"
    for pct in (50, 99):
        report.add(
            Row(
                case=CASE,
                metric=f"/health p{pct} under submit load ({label}) vs alone",
                ours=percentile(loaded, pct) * 1000,
                unit="ms",
                baseline=percentile(alone, pct) * 1000,
                check="ratio<=" if pct == 99 else None,
                limit=3.0 if pct == 99 else None,
            )
        )
    report.details.setdefault("loop_health", []).append(
        {"submit_rate": submit_rate, "alone_samples": len(alone), "loaded_samples": len(loaded), "submits": submits}
    )
