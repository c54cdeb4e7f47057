"""Case 2: `/health` latency while submissions run, against `/health` alone, on our API.

A probe sends `GET /health` at a steady rate on one connection, from this process; the
submit load comes from a load generator in another process, so neither starves the other's
event loop. The target is held at half the submit capacity measured in case 1 (open loop):
a publish that blocked the loop would show there. With submits saturating the API, every
request queues behind the others and the OS shares two cores among four busy processes, so
that figure is reported for information. Rounds alternate; samples of all rounds are pooled.

The floor: the same probe against the plain FastAPI app of case 1, loaded with its floor `POST`
(the same validation, one Lua call) at half of *its* capacity from case 1. Whatever tail that app
shows is what half load costs on this machine (the load generator, Redis and the server sharing
two cores), not our code. It is probed twice, under a load of its own each time: its constant
`/health`, and its `/health/redis`, which makes the one Redis call our `/health` makes.
"""

from __future__ import annotations

from bench.bare import SUBMIT_FLOOR_QUEUE
from bench.cases.common import GENERATE_BODY, LoadProcess, probe_health
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from bench.stats import percentile
from myspinbot.worker.wire import broker_lists

CASE = "2 event loop"
LOAD_SHARE = 0.5  # of the submit capacity measured in case 1
# The load is already on when a probe starts (LoadProcess.start); it only has to outlast the probe.
PROBE_MARGIN_SECONDS = 0.3


async def probe_under_submits(
    port: int, submit_path: str, rate: float | None, plan: Plan, probe_path: str = "/health"
) -> tuple[list[float], dict[str, object]]:
    """Probe `probe_path` while the load generator POSTs to `submit_path` at `rate` (None: as fast
    as answered); the probe's latencies and the load's own figures."""
    load = LoadProcess(
        port,
        "POST",
        submit_path,
        GENERATE_BODY,
        connections=plan.connections,
        seconds=plan.seconds + PROBE_MARGIN_SECONDS,
    )
    await load.start(rate=rate)
    samples = await probe_health(port, plan.seconds, plan.health_rate, probe_path)
    return samples, await load.result()


async def run(
    stack: BenchStack, plan: Plan, report: Report, capacity: float | None, floor_capacity: float | None = None
) -> None:
    """`capacity`: our submit throughput from case 1, if it ran (else the plan's default);
    `floor_capacity`: the floor app's, from the same case (no floor rows without it)."""
    rate = round((capacity or plan.submit_capacity_guess) * LOAD_SHARE)
    floor_rate = round(floor_capacity * LOAD_SHARE) if floor_capacity else None
    alone: list[float] = []
    steady: list[float] = []
    saturated: list[float] = []
    floor_alone: list[float] = []
    floor_steady: list[float] = []
    redis_floor_alone: list[float] = []  # the floor app's /health/redis: one Redis call, as ours makes
    redis_floor_steady: list[float] = []
    submits: list[dict[str, object]] = []
    for _ in range(plan.rounds):
        if floor_rate is not None and stack.bare_http_port is not None:
            port = stack.bare_http_port
            for path, alone_samples, steady_samples in (
                ("/health", floor_alone, floor_steady),
                ("/health/redis", redis_floor_alone, redis_floor_steady),
            ):
                alone_samples += await probe_health(port, plan.seconds, plan.health_rate, path)
                samples, load = await probe_under_submits(port, "/submit", floor_rate, plan, path)
                steady_samples += samples
                submits.append({"rate": floor_rate, "server": "floor", "probe": path, **load})
        alone += await probe_health(stack.api_port, plan.seconds, plan.health_rate)
        for submit_rate, samples_of_rate in ((rate, steady), (None, saturated)):
            samples, load = await probe_under_submits(stack.api_port, "/api/generate", submit_rate, plan)
            samples_of_rate += samples
            submits.append({"rate": submit_rate, **load})
    with stack.redis() as client:
        client.delete(*broker_lists("generate"), SUBMIT_FLOOR_QUEUE)
    rows = [
        (f"/health p50 with {rate:,} submits/s (half of capacity) vs alone", steady, 50, None),
        (f"/health p99 with {rate:,} submits/s (half of capacity) vs alone", steady, 99, 3.0),
        (f"/health p99 with submits saturating the API (c={plan.connections}) vs alone", saturated, 99, None),
    ]
    measured = [(metric, samples, alone, pct, limit) for metric, samples, pct, limit in rows]
    if floor_steady and floor_alone:
        floor_metric = (
            f"… the floor app's /health p99 with {floor_rate:,} floor POSTs/s (half of its capacity) vs alone"
        )
        measured.append((floor_metric, floor_steady, floor_alone, 99, None))
    if redis_floor_steady and redis_floor_alone:
        redis_floor_metric = (
            f"… the floor app's /health/redis p99 (one Redis call, as our /health makes) with {floor_rate:,} "
            "floor POSTs/s vs alone"
        )
        measured.append((redis_floor_metric, redis_floor_steady, redis_floor_alone, 99, None))
    for metric, samples, baseline, pct, limit in measured:
        report.add(
            Row(
                case=CASE,
                metric=metric,
                ours=percentile(samples, pct) * 1000,
                unit="ms",
                baseline=percentile(baseline, pct) * 1000,
                check="ratio<=" if limit else None,
                limit=limit,
            )
        )
    report.details["loop_health"] = {
        "submit_rate": rate,
        "floor_rate": floor_rate,
        "samples": {
            "alone": len(alone),
            "steady": len(steady),
            "saturated": len(saturated),
            "floor_alone": len(floor_alone),
            "floor_steady": len(floor_steady),
            "redis_floor_alone": len(redis_floor_alone),
            "redis_floor_steady": len(redis_floor_steady),
        },
        "submits": submits,
    }
