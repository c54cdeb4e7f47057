"""How long and how hard each case runs: the full run, `--quick`, and the test's smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    rounds: int  # interleaved ours/baseline rounds of the throughput cases (median is kept)
    seconds: float  # one measured window of a throughput or health case
    connections: int  # keep-alive connections of the load generator
    submit_capacity_guess: float  # submits/s assumed by case 2 when case 1 did not run
    health_rate: float  # /health probes per second (one connection, sequential)
    latency_jobs: int  # sequential jobs of the latency case (after warm-up)
    worker_jobs: int  # jobs queued before the worker starts, in the worker-throughput case
    fanout_clients: int
    fanout_processes: int  # client processes, apart from the API's
    fanout_rates: tuple[float, ...]  # events/s tried in turn (see bench.cases.fanout)
    fanout_seconds: float
    fanout_warmup_seconds: float  # events at the first rate right after connecting, reported apart
    bare_acks_late: bool = True  # also measure bare Celery with our reliability settings
    telemetry_jobs: int = 4  # metric jobs run at once in the ingest measurement (case 7)
    telemetry_points: int = 50_000  # points per job
    telemetry_watchers: int = 100  # /ws clients watching one job's coalesced metrics
    telemetry_watch_seconds: float = 5.0
    filtered_clients: int = 1000  # /ws clients of the per-user filtered fan-out (case 8)
    filtered_users: int = 100  # users owning them, one events job each
    filtered_steps: int = 2  # progress events per user's job, at fanout_rates[0] / users per second
    priority_jobs: int = 3000  # zero-step jobs per drain of case 9 (mixed, then same priority)


FULL = Plan(
    name="full",
    rounds=3,
    seconds=5.0,
    connections=16,
    submit_capacity_guess=1000.0,
    health_rate=200.0,
    latency_jobs=300,
    worker_jobs=6000,
    fanout_clients=1000,
    fanout_processes=2,
    fanout_rates=(20.0, 40.0, 50.0, 60.0, 80.0, 100.0),
    fanout_seconds=6.0,
    fanout_warmup_seconds=3.0,
)

# Under a minute: every case at a smaller size. Case 4 leaves out the bare-Celery variants with
# our settings and the contract floors (three worker starts); the full run has them.
QUICK = Plan(
    name="quick",
    rounds=1,
    seconds=0.8,
    connections=16,
    submit_capacity_guess=1000.0,
    health_rate=200.0,
    latency_jobs=30,
    worker_jobs=400,
    fanout_clients=200,
    fanout_processes=1,
    fanout_rates=(20.0,),
    fanout_seconds=1.0,
    fanout_warmup_seconds=0.5,
    bare_acks_late=False,
    telemetry_jobs=2,
    telemetry_points=5_000,
    telemetry_watchers=50,
    telemetry_watch_seconds=1.0,
    filtered_clients=100,
    filtered_users=10,
    filtered_steps=1,
    priority_jobs=200,
)

SMOKE = Plan(
    name="smoke",
    rounds=1,
    seconds=0.5,
    connections=4,
    submit_capacity_guess=200.0,
    health_rate=100.0,
    latency_jobs=5,
    worker_jobs=60,
    fanout_clients=20,
    fanout_processes=1,
    fanout_rates=(20.0,),
    fanout_seconds=0.5,
    fanout_warmup_seconds=0.5,
    bare_acks_late=False,
    telemetry_jobs=2,
    telemetry_points=2_000,
    telemetry_watchers=10,
    telemetry_watch_seconds=1.5,
    filtered_clients=20,
    filtered_users=5,
    filtered_steps=2,
    priority_jobs=60,
)

PLANS = {plan.name: plan for plan in (FULL, QUICK, SMOKE)}
