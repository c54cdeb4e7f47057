"""Case 8: fan-out with per-user filtering. 1,000 /ws clients owned by 100 users (authentication
on, each client connects with its user's API key, subscribed to every job it may see) while one
`events` job of every user runs at once; each client must get every event of its own user's job
and none of anyone else's.

The API is restarted with MYSPINBOT_AUTH=on for this case (and restarted plain afterwards); the
users and keys are made in-process through the kernel's identity store. The total event rate is
case 5's first rate, spread over the users' jobs, so the gateway takes in as many events per
second as in case 5 but sends each to a tenth of a percent of the clients instead of to all.
Delivery latency and losses are measured exactly as in case 5; a frame of another user's job
is a violation (target: none).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from bench.cases.common import cpu_seconds
from bench.cases.fanout import SwarmProcess, histogram_percentile, job_events, latest_event_id
from bench.httpclient import HttpConnection
from bench.plan import Plan
from bench.report import Report, Row
from bench.stack import BenchStack
from myspinbot import Settings
from myspinbot.cli.procs import wait_until
from myspinbot.core.accounts import add_user, create_key
from myspinbot.core.identity import Role
from myspinbot.core.kernel import Kernel

CASE = "8 filtered fan-out"
USER_PREFIX = "bench-u"
FINAL_STATES = ("succeeded", "failed", "cancelled")


async def make_users(settings: Settings, users: int) -> list[tuple[str, str]]:
    """`users` members with one API key each: [(name, key)]."""
    kernel = Kernel(settings)
    made = []
    try:
        for index in range(users):
            name = f"{USER_PREFIX}{index:03d}"
            await add_user(kernel.identity, name, Role.MEMBER, None)
            key = await create_key(kernel.identity, settings, name, "bench")
            made.append((name, key.key))
    finally:
        await kernel.store.close()
    return made


async def submit_all(
    http: HttpConnection, host: str, identities: list[tuple[str, str]], steps: int, rate: float
) -> dict[str, str]:
    """One `events` job per user, submitted as that user: {job id: owner}."""
    owners = {}
    for user, key in identities:
        status, job = await http.request_json("POST", "/api/jobs/events", host, {"steps": steps, "rate": rate}, key)
        if status != 202:
            raise RuntimeError(f"could not submit {user}'s events job: {status} {job}")
        owners[job["id"]] = user
    return owners


def finished_events_jobs(stack: BenchStack) -> int:
    with stack.redis() as client:
        return sum(int(client.hget("myspinbot:stats", f"finished|events|{state}") or 0) for state in FINAL_STATES)


def wait_finished(stack: BenchStack, before: int, jobs: int, timeout: float) -> None:
    """Until `jobs` more events jobs finished, read from the store's statistics: polling each job
    through the API would load the very process whose CPU is measured."""
    wait_until(lambda: finished_events_jobs(stack) - before >= jobs, timeout, f"{jobs} events jobs to finish")


async def run(stack: BenchStack, plan: Plan, report: Report, settings: Settings) -> dict[str, Any]:
    """Returns the case's figures (the JSON's details) for the comparison rows."""
    secret = secrets.token_hex(16)
    auth_env = {"MYSPINBOT_AUTH": "on", "MYSPINBOT_SECRET_KEY": secret}
    users, clients = plan.filtered_users, plan.filtered_clients
    identities = await make_users(settings.model_copy(update={"secret_key": secret}), users)
    keys_file = stack.root / "bench-keys.json"
    keys_file.write_text(json.dumps(identities))
    # A prefork worker takes ~2.5 s to shut down: meanwhile the API restarts.
    await asyncio.gather(stack.stop_side_by_side(stack.worker), asyncio.to_thread(stack.restart_api, env=auth_env))
    # Every user's job runs at once: a thread per job (they sleep between steps).
    stack.start_worker(concurrency=users, pool="threads")
    await asyncio.to_thread(stack.ensure_worker)
    assert stack.api is not None
    host = f"127.0.0.1:{stack.api_port}"
    per_process = clients // plan.fanout_processes
    swarms = [
        SwarmProcess(stack.api_port, per_process, ("--keys", str(keys_file), "--first-index", str(i * per_process)))
        for i in range(plan.fanout_processes)
    ]
    http = await HttpConnection.open("127.0.0.1", stack.api_port)
    try:
        connected = sum(await asyncio.gather(*(swarm.start() for swarm in swarms)))
        await asyncio.sleep(1.0)
        rate_per_job = plan.fanout_rates[0] / users
        steps = plan.filtered_steps
        after, before = latest_event_id(stack), finished_events_jobs(stack)
        cpu_before, wall_before = cpu_seconds(stack.api.pid), time.perf_counter()
        owners = await submit_all(http, host, identities, steps, rate_per_job)
        timeout = steps / rate_per_job * 3 + 60
        await asyncio.to_thread(wait_finished, stack, before, len(owners), timeout)
        await asyncio.sleep(0.5)  # frames still in flight
        cpu_share = (cpu_seconds(stack.api.pid) - cpu_before) / (time.perf_counter() - wall_before)
        figures = await tally(stack, swarms, after, owners, identities, clients)
    finally:
        http.close()
        await asyncio.gather(*(swarm.stop() for swarm in swarms))
        await asyncio.to_thread(keys_file.unlink, missing_ok=True)
        await asyncio.gather(stack.stop_side_by_side(stack.worker), asyncio.to_thread(stack.restart_api))
    figures.update(clients=connected, users=users, api_cpu_share=cpu_share, rate=plan.fanout_rates[0])
    add_rows(report, figures, report.details.get("fanout"))
    report.details["filtered_fanout"] = figures
    return figures


async def tally(
    stack: BenchStack,
    swarms: list[SwarmProcess],
    after: str,
    owners: dict[str, str],
    identities: list[tuple[str, str]],
    clients: int,
) -> dict[str, Any]:
    """Frames, losses, violations and the latency histogram over every user's job."""
    per_process = clients // len(swarms)
    user_of_client = [identities[index % len(identities)][0] for index in range(per_process * len(swarms))]
    histogram: dict[int, int] = {}
    lost = frames = events = violations = 0
    for job_id, owner in owners.items():
        ids = job_events(stack, after, job_id)
        events += len(ids)
        answers = await asyncio.gather(*(swarm.command(f"report {job_id}") for swarm in swarms))
        per_client = [count for answer in answers for count in answer["per_client"]]
        violations = sum(answer["violations"] for answer in answers)  # each process's total so far
        for index, count in enumerate(per_client):
            frames += count
            if user_of_client[index] == owner:
                lost += max(0, len(ids) - count)
            # a count for another user's client cannot happen: such frames are violations instead
        for answer in answers:
            for key, value in answer["histogram"].items():
                histogram[int(key)] = histogram.get(int(key), 0) + value
    return {
        "events": events,
        "frames": frames,
        "lost": lost,
        "violations": violations,
        "p50_ms": histogram_percentile(histogram, 50),
        "p99_ms": histogram_percentile(histogram, 99),
        "max_ms": histogram_percentile(histogram, 100),
    }


def add_rows(report: Report, figures: dict[str, Any], unfiltered: dict[str, Any] | None) -> None:
    """The case's rows; against case 5's first phase (unfiltered, same event rate) when it ran."""
    label = f"{figures['clients']:,} clients of {figures['users']} users, {figures['rate']:g} events/s in all"
    first = unfiltered["phases"][0] if unfiltered and unfiltered.get("phases") else None
    report.add(
        Row(
            CASE,
            f"{label}: frames of another user's jobs received (violations)",
            figures["violations"],
            "",
            check="==",
            limit=0,
        )
    )
    report.add(Row(CASE, f"{label}: events lost", figures["lost"], "", check="==", limit=0))
    report.add(
        Row(
            CASE,
            f"{label}: delivery p99 vs unfiltered (case 5, every client gets every event)",
            figures["p99_ms"],
            "ms",
            baseline=first["p99_ms"] if first else None,
        )
    )
    report.add(
        Row(CASE, f"{label}: delivery p50", figures["p50_ms"], "ms", baseline=first["p50_ms"] if first else None)
    )
    report.add(
        Row(
            CASE,
            f"{label}: API CPU (share of a core, submits included) vs unfiltered",
            figures["api_cpu_share"] * 100,
            "%",
            baseline=first["api_cpu_share"] * 100 if first else None,
        )
    )
