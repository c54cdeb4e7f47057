"""Case 4: jobs/s of zero-step jobs through one worker of 2 prefork processes, against bare
Celery no-op tasks (Celery's defaults, and with our reliability settings: acks_late,
reject_on_worker_lost, prefetch 1).

Each run fills its queue first and only then starts the worker; the rate is taken from the
queue draining from 90% to 10% of its length, so start-up and the tail are left out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psutil
from celery import Celery

from bench.bare import lay_out_floor_record
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from myspinbot import EventName, JobEvent, Settings
from myspinbot.cli.procs import wait_until
from myspinbot.core.kernel import Kernel
from myspinbot.core.lifecycle import new_job
from myspinbot.core.queueing import Priority
from myspinbot.worker.wire import JobPublisher, broker_lists

CASE = "4 worker"
BATCH = 50  # redis-py's async pool refuses a 101st connection by default


async def fill_our_queue(settings: Settings, count: int, priorities: Sequence[Priority] = (Priority.NORMAL,)) -> None:
    """`count` noop jobs: a stored record each and a Celery message on the `noop` queue, their
    priorities taken in turn from `priorities`."""
    kernel = Kernel(settings)
    job_type = kernel.job_types["noop"]
    publisher = JobPublisher(settings)
    store = kernel.store
    try:
        for first in range(0, count, BATCH):
            jobs = [
                new_job(uuid.uuid4().hex, "noop", {}, [], priority=priorities[index % len(priorities)])
                for index in range(first, min(first + BATCH, count))
            ]
            await asyncio.gather(*(store.create(job, JobEvent(event=EventName.QUEUED, job=job)) for job in jobs))
            # with the queued record as the start's hint, as the API's submit publishes them
            await asyncio.gather(
                *(publisher.publish(job_type, job.id, job.priority, queued=job.model_dump_json()) for job in jobs)
            )
    finally:
        publisher.close()
        await store.close()


# The floor's variants: (queue, store reads, record+event writes) per job. Ours makes one read
# (begin) and two writes (started, finished) per zero-step job.
FLOORS = (("bare_floor3", 1, 2), ("bare_floor2", 0, 2))


STORE_FLOOR = "bare_floor_store"


def fill_store_floor_queue(stack: BenchStack, celery: Celery, count: int) -> None:
    """`count` records laid out as our CREATE leaves them, and a task per record that runs our
    store's SAVE script for its start and its finish (bench.bare.floor_saves)."""
    job_ids = [uuid.uuid4().hex for _ in range(count)]
    with stack.redis() as client, client.pipeline(transaction=False) as pipe:
        for seq, job_id in enumerate(job_ids, start=1):
            lay_out_floor_record(pipe, job_id, seq)
        pipe.execute()
    task = celery.tasks["bench.store_contract"]
    with celery.producer_or_acquire() as producer:
        for job_id in job_ids:
            task.apply_async(args=[job_id], queue=STORE_FLOOR, producer=producer)


def fill_bare_queue(celery: Celery, queue: str, count: int, trips: tuple[int, int] | None = None) -> None:
    """`count` no-op tasks, or with `trips` (reads, writes) the contract floor's tasks."""
    task = celery.tasks["bench.noop" if trips is None else "bench.contract"]
    with celery.producer_or_acquire() as producer:
        for index in range(count):
            args = None if trips is None else [f"{index:032x}", *trips]
            task.apply_async(args=args, queue=queue, producer=producer)


@dataclass(frozen=True)
class Drained:
    """One drain's figures, over the jobs from 90% to 10% of the queue."""

    rate: float  # jobs/s
    redis_cpu_us: float  # Redis's CPU per job
    cpu_us: dict[str, float]  # CPU per job of each watched process (with its descendants), by name


def drain_rate(stack: BenchStack, queue: str | list[str], count: int, timeout: float) -> float:
    """Jobs/s while the queue drains from 90% to 10% of `count` (polled every 5 ms)."""
    return drain(stack, queue, count, timeout).rate


def redis_cpu_seconds(client: Any) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (a Celery worker and its pool)."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def drain(
    stack: BenchStack, queue: str | list[str], count: int, timeout: float, watch: dict[str, int] | None = None
) -> Drained:
    """Jobs/s and CPU per job while the queue drains from 90% to 10% of `count`.

    `queue` is one Redis list, or every list a queue's messages wait in (ours: one per priority).
    Redis's CPU comes from INFO at both ends (10 ms resolution), that of each process in `watch`
    (name: PID, e.g. the worker and the API) from its and its children's times: on two shared
    cores what a job costs in CPU says more than the rate, which swings with what else runs.
    """
    keys = [queue] if isinstance(queue, str) else queue
    watch = watch or {}
    high, low = int(count * 0.9), int(count * 0.1)
    t_high = t_low = cpu_high = cpu_low = 0.0
    at_high: dict[str, float] = {}
    at_low: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    with stack.redis() as client:
        while time.monotonic() < deadline:
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                depth = sum(int(length) for length in pipe.execute())
            now = time.perf_counter()
            if not t_high and depth <= high:
                t_high, cpu_high = now, redis_cpu_seconds(client)
                at_high = {name: tree_cpu_seconds(pid) for name, pid in watch.items()}
            if depth <= low:
                t_low, cpu_low = now, redis_cpu_seconds(client)
                at_low = {name: tree_cpu_seconds(pid) for name, pid in watch.items()}
                break
            time.sleep(0.005)
    if not (t_high and t_low > t_high):
        raise TimeoutError(f"queue {keys[0]!r} did not drain in {timeout}s")
    jobs = high - low
    return Drained(
        rate=jobs / (t_low - t_high),
        redis_cpu_us=(cpu_low - cpu_high) * 1e6 / jobs,
        cpu_us={name: (at_low[name] - at_high[name]) * 1e6 / jobs for name in watch},
    )


def finished_noop_jobs(stack: BenchStack) -> int:
    with stack.redis() as client:
        return int(client.hget("myspinbot:stats", "finished|noop|succeeded") or 0)


async def run(stack: BenchStack, plan: Plan, report: Report, settings: Settings, bare_celery: Celery) -> None:
    """Leaves our worker and the bare default worker running, for the latency case."""
    count = plan.worker_jobs
    timeout = 30 + count / 100
    before = finished_noop_jobs(stack)
    await fill_our_queue(settings, count)
    worker = stack.start_worker()
    # The API tails the event stream (two events per job), so its CPU is part of what a job costs.
    watch = {"worker": worker.pid, **({"api": stack.api.pid} if stack.api is not None else {})}
    drained = {"ours": await asyncio.to_thread(drain, stack, broker_lists("noop"), count, timeout, watch)}
    await asyncio.to_thread(
        wait_until, lambda: finished_noop_jobs(stack) - before >= count, timeout, "every noop job to succeed"
    )

    variants: list[tuple[str, bool, tuple[int, int] | None]] = [("bare", False, None)]
    if plan.bare_acks_late:
        floors = [(queue, True, (reads, writes)) for queue, reads, writes in FLOORS]
        variants = [("bare_late", True, None), *floors, (STORE_FLOOR, True, None), *variants]
    for queue, acks_late, trips in variants:
        if queue == STORE_FLOOR:
            await asyncio.to_thread(fill_store_floor_queue, stack, bare_celery, count)
        else:
            await asyncio.to_thread(fill_bare_queue, bare_celery, queue, count, trips)
        worker = stack.start_bare_worker(queue, acks_late=acks_late)
        drained[queue] = await asyncio.to_thread(drain, stack, queue, count, timeout, {"worker": worker.pid})
        if acks_late:
            stack.stop_child(worker)
    ours = drained["ours"].rate
    bare = {queue: run.rate for queue, run in drained.items() if queue != "ours"}
    redis_cpu = {queue: run.redis_cpu_us for queue, run in drained.items()}
    worker_cpu = {queue: run.cpu_us["worker"] for queue, run in drained.items()}
    report.add(
        Row(
            case=CASE,
            metric="zero-step jobs/s, 1 worker -c 2 prefork, vs bare Celery no-op",
            ours=ours,
            unit="jobs/s",
            baseline=bare["bare"],
            check="ratio>=",
            limit=0.8,
        )
    )

    def rate_row(metric: str, baseline: float, rate: float = ours) -> Row:
        return Row(case=CASE, metric=metric, ours=rate, unit="jobs/s", baseline=baseline)

    if "bare_late" in bare:
        report.add(rate_row("… vs bare Celery with acks_late + prefetch 1 (our settings)", bare["bare_late"]))
    for queue, reads, writes in FLOORS:
        if queue in bare:
            metric = (
                f"… vs the floor: bare Celery, our settings, + {reads + writes} store round trips per job "
                f"({reads} read, {writes} record+event writes)"
            )
            report.add(rate_row(metric, bare[queue]))
    if STORE_FLOOR in bare:
        metric = (
            "… vs the floor: bare Celery, our settings, + our store's SAVE script twice per job "
            "(record, indexes, statistics, event: all the contract keeps), none of our Python"
        )
        report.add(rate_row(metric, bare[STORE_FLOOR]))
        report.add(
            rate_row(
                "… that floor vs bare Celery with our settings: what the contract's data costs alone",
                bare["bare_late"],
                rate=bare[STORE_FLOOR],
            )
        )
        # The target's base is Celery's defaults: the floor against it says what the contract's
        # data leaves of the 0.8× target before any of our Python runs.
        report.add(
            rate_row(
                "… that floor vs bare Celery no-op (Celery's defaults, the target's base)",
                bare["bare"],
                rate=bare[STORE_FLOOR],
            )
        )
        report.add(
            Row(
                case=CASE,
                metric="Redis CPU per zero-step job vs per job of that floor",
                ours=redis_cpu["ours"],
                unit="µs",
                baseline=redis_cpu[STORE_FLOOR],
            )
        )
        # What is left above the floor in the worker is our Python: the figure to shrink.
        report.add(
            Row(
                case=CASE,
                metric="worker CPU per zero-step job (main process + pool) vs per job of that floor",
                ours=worker_cpu["ours"],
                unit="µs",
                baseline=worker_cpu[STORE_FLOOR],
            )
        )
    report.add(
        Row(
            case=CASE,
            metric="Redis CPU per zero-step job vs per bare Celery no-op (our settings)",
            ours=redis_cpu["ours"],
            unit="µs",
            baseline=redis_cpu.get("bare_late", redis_cpu["bare"]),
        )
    )
    base = "bare_late" if "bare_late" in worker_cpu else "bare"
    report.add(
        Row(
            case=CASE,
            metric="worker CPU per zero-step job (main process + pool) vs per bare Celery no-op "
            + ("(our settings)" if base == "bare_late" else "(defaults)"),
            ours=worker_cpu["ours"],
            unit="µs",
            baseline=worker_cpu[base],
        )
    )
    if "api" in drained["ours"].cpu_us:
        report.add(
            Row(
                case=CASE,
                metric="API CPU per zero-step job (its tail of the event stream, no client connected)",
                ours=drained["ours"].cpu_us["api"],
                unit="µs",
            )
        )
    report.details["workers"] = {
        "jobs": count,
        "ours": ours,
        "bare": bare,
        "redis_cpu_us_per_job": redis_cpu,
        "worker_cpu_us_per_job": worker_cpu,
        "api_cpu_us_per_job": drained["ours"].cpu_us.get("api"),
    }
