"""`myspinbot queues|workers|pause|resume|retry|priority|batch` and `submit --sweep`: queue control
from the terminal, on `myspinbot_client` (registered by `cli.register`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from myspinbot_client.models import Job, JobType, Priority, WireModel
from myspinbot_client.params import InputError, parse_params, parse_value
from myspinbot_client.queues import Batch, QueueInfo, WorkerInfo
from myspinbot_client.sync import MySpinBotClient

Command = Callable[[argparse.Namespace, MySpinBotClient], int]
Wrap = Callable[[Command], Callable[[argparse.Namespace], int]]
ModelT = TypeVar("ModelT", bound=WireModel)


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, wrap: Wrap
) -> None:
    """Add the queue commands; `wrap` turns a command body into an argparse handler (cli._command)."""
    queues = subparsers.add_parser("queues", parents=[common], help="the queues: depth, running, paused, workers")
    queues.set_defaults(func=wrap(run_queues))
    workers = subparsers.add_parser("workers", parents=[common], help="the workers online and their resources")
    workers.set_defaults(func=wrap(run_workers))
    for name, text in (("pause", "pause a queue: no new job of it starts"), ("resume", "resume a paused queue")):
        parser = subparsers.add_parser(name, parents=[common], help=text, description=text.capitalize() + " (admin).")
        parser.add_argument("queue", metavar="QUEUE")
        parser.set_defaults(func=wrap(run_pause if name == "pause" else run_resume))
    retry = subparsers.add_parser(
        "retry", parents=[common], help="retry a failed or cancelled job", description=run_retry.__doc__
    )
    retry.add_argument("job_id", metavar="JOB_ID")
    add_priority_option(retry)
    retry.set_defaults(func=wrap(run_retry))
    priority = subparsers.add_parser(
        "priority", parents=[common], help="change a queued job's priority", description=run_priority.__doc__
    )
    priority.add_argument("job_id", metavar="JOB_ID")
    priority.add_argument("priority", choices=[p.value for p in Priority])
    priority.add_argument("--front", action="store_true", help="also make it the next to start (admin)")
    priority.set_defaults(func=wrap(run_priority))
    batch = subparsers.add_parser("batch", parents=[common], help="a batch's progress", description=run_batch.__doc__)
    batch.add_argument("batch_id", metavar="BATCH_ID")
    batch.add_argument("--cancel", action="store_true", help="cancel its unfinished jobs")
    batch.set_defaults(func=wrap(run_batch))


def add_priority_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--priority", "-p", choices=[p.value for p in Priority], help="low, normal or high")


def add_sweep_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=VALUES",
        help="one job per combination: seed=1..8 (a range) or guidance=5,7 (a list); repeatable",
    )


def sweep_values(text: str) -> tuple[str, list[str]]:
    """`seed=1..8` as ("seed", ["1", ..., "8"]), `g=5,7` as ("g", ["5", "7"]); InputError when malformed."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise InputError(text, "expected --sweep KEY=A..B or KEY=V1,V2,...")
    low, dots, high = values.partition("..")
    if dots:
        try:
            start, stop = int(low), int(high)
        except ValueError:
            raise InputError(key, f"a range needs whole numbers, e.g. {key}=1..8") from None
        if stop < start:
            raise InputError(key, f"the range {values} is empty")
        return key, [str(n) for n in range(start, stop + 1)]
    return key, [value.strip() for value in values.split(",") if value.strip()]


def parse_sweep(
    job_type: JobType, base_text: Mapping[str, str], specs: Sequence[str]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The base parameters and the swept values, each typed by the job type's schema."""
    swept = dict(sweep_values(spec) for spec in specs)
    clash = sorted(set(swept) & set(base_text))
    if clash:
        raise InputError(clash[0], "given both as a parameter and in --sweep")
    schema = job_type.params_schema
    properties = schema.get("properties") or {}
    for key in swept:
        if key not in properties:
            raise InputError(key, f"unknown parameter for job type {job_type.name!r}")
    # Required parameters may be the swept ones: check the base with the first swept values in.
    base = parse_params(job_type, {**base_text, **{key: values[0] for key, values in swept.items()}})
    typed = {key: [parse_value(properties[key], text, schema, key) for text in values] for key, values in swept.items()}
    return {key: value for key, value in base.items() if key not in swept}, typed


def submit_sweep(
    args: argparse.Namespace, client: MySpinBotClient, job_type: JobType, base_text: Mapping[str, str]
) -> int:
    """`submit TYPE ... --sweep KEY=VALUES`: one batch of every combination."""
    base, sweep = parse_sweep(job_type, base_text, args.sweep)
    batch = client.submit_batch(
        job_type.name, sweep=sweep, base=base, priority=args.priority, idempotency_key=args.idempotency_key
    )
    if not printed_as_json(args, batch):
        print(f"Submitted batch {batch.id}: {batch.total} {job_type.name} jobs")
        print(f"  progress: myspinbot batch {batch.id}\n  cancel:   myspinbot batch {batch.id} --cancel")
    return 0


def place_text(job: Job) -> str:
    """ "#3 in queue · starts in about 4 min" for a queued job with a place; "" otherwise."""
    if not job.position:
        return ""
    text = f"#{job.position} in queue"
    if job.starts_in_seconds is not None:
        seconds = job.starts_in_seconds
        text += " · starts " + ("now" if seconds < 1 else f"in about {about(seconds)}")
    return text


def about(seconds: float) -> str:
    """A rough duration: "40 s", "4 min", "2 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def printed_as_json(args: argparse.Namespace, model: WireModel) -> bool:
    """With --json, print the model as one JSON line and say so; without it, print nothing."""
    if not getattr(args, "json", False):
        return False
    print(json.dumps(model.to_json()))
    return True


def show_listing(
    args: argparse.Namespace,
    models: Sequence[ModelT],
    rows: Callable[[Sequence[ModelT]], list[tuple[str, ...]]],
    when_empty: str | None = None,
) -> int:
    """A listing as JSON lines with --json, else as a table (or `when_empty` when there is nothing)."""
    if getattr(args, "json", False):
        for model in models:
            print(json.dumps(model.to_json()))
    elif not models and when_empty is not None:
        print(when_empty)
    else:
        table(rows(models))
    return 0


def queue_rows(queues: Sequence[QueueInfo]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("QUEUE", "STATE", "WAITING", "RUNNING", "SLOTS", "WORKERS")]
    for queue in queues:
        workers = ", ".join(f"{w.name} ({w.concurrency})" for w in queue.workers) or "none"
        state = "paused" if queue.paused else "active"
        rows.append((queue.name, state, str(queue.depth), str(queue.running), str(queue.concurrency), workers))
    return rows


def run_queues(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Every queue: paused or not, jobs waiting and running, the workers' slots."""
    return show_listing(args, client.queues(), queue_rows)


def worker_rows(workers: Sequence[WorkerInfo]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("WORKER", "HOST", "QUEUES", "SLOTS", "RUNNING", "CPU", "MEMORY", "GPUS")]
    for worker in workers:
        memory = (
            f"{worker.memory.used_bytes / worker.memory.total_bytes:.0%}"
            if worker.memory and worker.memory.total_bytes
            else "-"
        )
        cpu = f"{worker.cpu_percent:.0f}%" if worker.cpu_percent is not None else "-"
        gpus = (
            ", ".join(
                f"{g.name} {g.memory_used_bytes / 2**30:.1f}/{g.memory_total_bytes / 2**30:.1f} GiB"
                for g in worker.gpus
            )
            or "none"
        )
        rows.append(
            (
                worker.name,
                worker.host,
                ",".join(worker.queues),
                str(worker.concurrency),
                str(len(worker.running_jobs)),
                cpu,
                memory,
                gpus,
            )
        )
    return rows


def run_workers(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """The workers online: host, queues, slots, jobs running, CPU, memory and GPUs."""
    return show_listing(args, client.workers(), worker_rows, when_empty="No worker online.")


def show_queue(args: argparse.Namespace, queue: QueueInfo) -> int:
    if not printed_as_json(args, queue):
        state = "paused" if queue.paused else "active"
        print(f"Queue {queue.name} is {state}: {queue.depth} waiting, {queue.running} running")
    return 0


def run_pause(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Pause a queue: no new job of it starts, running ones finish, waiting ones keep their order."""
    return show_queue(args, client.pause(args.queue))


def run_resume(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Resume a queue: its waiting jobs start again, in order."""
    return show_queue(args, client.resume(args.queue))


def run_retry(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Retry a failed or cancelled job: a new job, same parameters, same input files (no upload)."""
    job = client.retry(args.job_id, args.priority)
    if not printed_as_json(args, job):
        print(f"Submitted {job.type} job {job.id}, a retry of {args.job_id} ({job.priority.value} priority)")
        print(f"  watch:  myspinbot watch {job.id}")
    return 0


def run_priority(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Change a queued job's priority (with --front, make it the next to start)."""
    job = client.set_priority(args.job_id, args.priority, front=args.front)
    if not printed_as_json(args, job):
        where = f"#{job.position} in queue" if job.position else job.state.value
        print(f"Job {job.id}: {job.priority.value} priority, {where}")
    return 0


def batch_line(batch: Batch) -> str:
    counts = ", ".join(f"{count} {state.value}" for state, count in sorted(batch.counts.items()))
    return f"Batch {batch.id} ({batch.type}): {batch.total} jobs, {batch.progress:.0%} done · {counts}"


def run_batch(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """A batch's progress and its jobs by state; --cancel cancels its unfinished jobs."""
    batch = client.cancel_batch(args.batch_id) if args.cancel else client.batch(args.batch_id)
    if not printed_as_json(args, batch):
        print(batch_line(batch))
    return 0
