"""`myspinbot queues|pause|resume|retry|priority|batch|workers` and `submit --priority/--sweep`, as a user runs them."""

from __future__ import annotations

import re

import httpx

from tests.client.test_cli_live import run_cli, submitted_id
from tests.queue.test_batches import wait_batch, wait_job
from tests.support.processes import LiveStack


def test_pause_submit_with_priority_and_resume_from_the_terminal(queue_stack: LiveStack, api: httpx.Client) -> None:
    """pause → a normal and a high job wait (the high one #1) → `queues` shows it paused → resume runs both."""
    paused = run_cli(queue_stack, "pause", "sleepy")
    assert paused.returncode == 0 and "Queue sleepy is paused" in paused.stdout, paused.stderr
    normal = submitted_id(run_cli(queue_stack, "submit", "sleepy", "steps=1").stdout)
    high = run_cli(queue_stack, "submit", "sleepy", "steps=1", "--priority", "high")
    assert high.returncode == 0 and "#1 in queue" in high.stdout, high.stdout + high.stderr
    listing = run_cli(queue_stack, "queues").stdout
    assert re.search(r"^sleepy\s+paused\s+2\s+0\s+1\s+\S+ \(1\)", listing, flags=re.MULTILINE), listing
    workers = run_cli(queue_stack, "workers").stdout
    assert "WORKER" in workers and "sleepy" in workers, workers
    moved = run_cli(queue_stack, "priority", normal, "high", "--front")
    assert moved.returncode == 0 and "#1 in queue" in moved.stdout, moved.stdout + moved.stderr
    assert run_cli(queue_stack, "resume", "sleepy").returncode == 0
    assert wait_job(api, normal, ("succeeded",))["state"] == "succeeded"
    assert wait_job(api, submitted_id(high.stdout), ("succeeded",))["state"] == "succeeded"


def test_sweep_batch_and_retry_from_the_terminal(queue_stack: LiveStack, api: httpx.Client) -> None:
    """`submit --sweep steps=1..4 --sweep step_seconds=0,0.001` makes 8 jobs; `batch` shows them;
    `retry` re-runs a failure."""
    sweep = ["--sweep", "steps=1..4", "--sweep", "step_seconds=0,0.001"]
    swept = run_cli(queue_stack, "submit", "sleepy", "note=x", *sweep)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    match = re.search(r"Submitted batch (\w+): 8 sleepy jobs", swept.stdout)
    assert match, swept.stdout
    batch = wait_batch(api, match.group(1))
    assert sorted((j["params"]["steps"], j["params"]["step_seconds"]) for j in batch["jobs"]) == sorted(
        (steps, seconds) for steps in (1, 2, 3, 4) for seconds in (0, 0.001)
    )
    shown = run_cli(queue_stack, "batch", match.group(1))
    assert "8 jobs, 100% done · 8 succeeded" in shown.stdout, shown.stdout
    bad = run_cli(queue_stack, "submit", "sleepy", "--sweep", "steps=3..1")
    assert bad.returncode == 2 and "empty" in bad.stderr
    failing = submitted_id(run_cli(queue_stack, "submit", "failing", "--wait").stdout)
    retried = run_cli(queue_stack, "retry", failing)
    assert retried.returncode == 0 and f"a retry of {failing}" in retried.stdout, retried.stdout + retried.stderr
    new_id = submitted_id(retried.stdout)
    assert wait_job(api, new_id, ("failed",))["retry_of"] == failing
