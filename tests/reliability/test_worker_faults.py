"""A worker killed mid-job never leaves the job stuck in `running`: it is re-run, or fails with a reason."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from myspinbot.cli.procs import wait_until
from myspinbot.core.jobs import EventName
from myspinbot.core.kernel import Kernel
from myspinbot.core.settings import Settings
from myspinbot.worker.app import create_celery
from tests.reliability.support import (
    FAST_FAULTS,
    Figures,
    api_client,
    job_events,
    pool_children,
    process_alive,
    running_stack,
    wait_job,
)
from tests.support.processes import TEST_PLUGINS, LiveStack, ServiceProcess

pytestmark = pytest.mark.slow

MAX_ATTEMPTS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """One worker with one pool process, a fast reaper and two attempts per job."""
    env = {**FAST_FAULTS, "MYSPINBOT_MAX_ATTEMPTS": str(MAX_ATTEMPTS)}
    with running_stack(tmp_path_factory.mktemp("worker-faults"), env, concurrency=1) as live:
        yield live


@pytest.fixture
def api(stack: LiveStack) -> Iterator[httpx.Client]:
    """A client of the stack's API; the stack has a live worker before and after each test."""
    if stack.worker is None or not stack.worker.alive():
        stack.start_worker()
    with api_client(stack.api_url) as client:
        yield client


def submit_running(api: httpx.Client, steps: int = 10, step_seconds: float = 0.2) -> dict[str, Any]:
    """Submit a sleepy job and wait until its handler has reported a step."""
    response = api.post("/api/jobs/sleepy", json={"steps": steps, "step_seconds": step_seconds})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    wait_until(lambda: job_of(api, job_id)["step"] >= 1, 20, what=f"job {job_id} to report a step")
    return job_of(api, job_id)


def job_of(api: httpx.Client, job_id: str) -> dict[str, Any]:
    response = api.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_requeued(api: httpx.Client, job_id: str, timeout: float = 10.0) -> float:
    """Wait until the reaper has handed the job back to the queue; returns how long that took."""
    started = time.monotonic()
    wait_until(lambda: "re-queued" in job_of(api, job_id)["message"], timeout, what=f"job {job_id} to be re-queued")
    return time.monotonic() - started


def test_job_of_a_killed_worker_is_requeued_and_finishes_on_a_new_worker(
    stack: LiveStack, api: httpx.Client, figures: Figures
) -> None:
    """SIGKILL of the whole worker mid-job: the reaper re-queues it and a restarted worker finishes it."""
    job = submit_running(api)
    assert stack.worker is not None
    stack.worker.kill()
    figures.add("faults.worker_sigkill")
    requeue_seconds = wait_requeued(api, job["id"])
    lost = job_of(api, job["id"])
    assert lost["state"] == "running" and lost["worker"] is None
    stack.start_worker()
    done = wait_job(api, job["id"])
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["started_at"] == job["started_at"]
    assert done["progress"] == 1.0
    figures.set("worker_kill.requeue_seconds", round(requeue_seconds, 2))
    figures.job_outcomes(accepted=1, finished=1)


def test_job_fails_with_a_reason_once_its_attempts_are_used(
    stack: LiveStack, api: httpx.Client, figures: Figures
) -> None:
    """A job whose worker dies on every attempt ends `failed`, naming the lost worker, never stays running."""
    job = submit_running(api)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait_until(lambda n=attempt: job_of(api, job["id"])["attempts"] == n, 20, what=f"attempt {attempt}")
        wait_until(lambda: job_of(api, job["id"])["worker"] is not None, 20, what="a worker to take the job")
        assert stack.worker is not None
        stack.worker.kill()
        figures.add("faults.worker_sigkill")
        if attempt < MAX_ATTEMPTS:
            wait_requeued(api, job["id"])
            stack.start_worker()
    failed = wait_job(api, job["id"], timeout=15)
    assert failed["state"] == "failed", failed
    assert "was lost" in failed["error"] and f"{MAX_ATTEMPTS} attempt" in failed["error"]
    assert failed["attempts"] == MAX_ATTEMPTS
    figures.add("jobs.failed_with_a_reason_after_their_attempts")
    figures.job_outcomes(accepted=1, finished=1)


def test_killed_pool_child_is_requeued_by_celery_on_the_same_worker(
    stack: LiveStack, api: httpx.Client, figures: Figures
) -> None:
    """A killed pool process's job is re-queued by Celery (no reaper) and re-run on the same worker."""
    job = submit_running(api, steps=8)
    assert stack.worker is not None
    children = pool_children(stack.worker.pid)
    assert len(children) == 1, f"expected one pool process, found {children}"
    os.kill(children[0], signal.SIGKILL)
    killed_at = time.monotonic()
    figures.add("faults.pool_child_sigkill")
    wait_until(lambda: job_of(api, job["id"])["attempts"] == 2, 10, what="the job to restart")
    restart_seconds = time.monotonic() - killed_at
    done = wait_job(api, job["id"])
    assert done["state"] == "succeeded" and done["attempts"] == 2, done
    # The main process stayed alive and kept its heartbeat: Celery re-queued the task, not the reaper.
    assert not any("re-queued" in event["job"]["message"] for event in job_events(stack, job["id"]))
    assert stack.worker.alive()
    figures.set("pool_child_kill.restart_seconds", round(restart_seconds, 2))
    figures.job_outcomes(accepted=1, finished=1)


def test_duplicate_delivery_to_another_worker_is_skipped(
    stack: LiveStack, api: httpx.Client, tmp_path: Path, figures: Figures
) -> None:
    """A second delivery of a running job to another worker, while the first is alive, runs nothing."""
    second = ServiceProcess(
        "worker-b", ["worker", "-c", "1", "-n", "second@reliability", "--log-level", "warning"], stack.env(), tmp_path
    ).start()
    try:
        wait_until(lambda: workers_online(api) >= 2, 30, what="a second worker")
        job = submit_running(api, steps=10, step_seconds=0.2)
        send_duplicate(stack, job["id"])
        figures.add("faults.duplicate_delivery")
        done = wait_job(api, job["id"])
        assert done["state"] == "succeeded"
        assert done["attempts"] == 1, "the duplicate delivery ran the job a second time"
        figures.job_outcomes(accepted=1, finished=1)
    finally:
        second.stop(grace=10)


def workers_online(api: httpx.Client) -> int:
    online = api.get("/health").json()["checks"]["workers"]["online"]
    return int(online or 0)


def stack_settings(stack: LiveStack) -> Settings:
    """Settings that reach the stack's Redis and data, for a kernel or Celery app in the test process."""
    return Settings(redis_url=stack.redis_url, data_dir=stack.data_dir, extra_plugins=[TEST_PLUGINS], _env_file=None)


def send_duplicate(stack: LiveStack, job_id: str) -> None:
    """Publish the job's task again, as a broker redelivery after a visibility timeout would."""
    celery = create_celery(stack_settings(stack))
    try:
        celery.send_task("myspinbot.job.sleepy", args=[job_id], task_id=job_id, queue="sleepy")
    finally:
        celery.close()


@pytest.fixture(scope="module")
def pool_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """One worker with two pool processes; heartbeats every 2 s (expiry 6 s, longer than a restart takes)."""
    env = {**FAST_FAULTS, "MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "2"}
    with running_stack(tmp_path_factory.mktemp("pool-of-two"), env, concurrency=2) as live:
        yield live


def test_duplicate_delivery_to_the_same_worker_is_skipped(pool_stack: LiveStack, figures: Figures) -> None:
    """A second delivery of a running job to another pool process of its own worker runs nothing."""
    with api_client(pool_stack.api_url) as api:
        job = submit_running(api, steps=10, step_seconds=0.2)
        send_duplicate(pool_stack, job["id"])
        figures.add("faults.duplicate_delivery")
        done = wait_job(api, job["id"])
        assert done["state"] == "succeeded"
        assert done["attempts"] == 1, "the duplicate delivery ran the job a second time, beside the first run"
        figures.job_outcomes(accepted=1, finished=1)


async def requeue_as_the_reaper_would(stack: LiveStack, job_id: str) -> None:
    """What the reaper does to a job it judges lost: clear its worker, then publish it again."""
    kernel = Kernel(stack_settings(stack))
    try:
        job = await kernel.store.get(job_id)
        assert job is not None
        lost = job.model_copy(update={"worker": None, "message": f"worker {job.worker} was lost; re-queued"})
        await kernel.store.save(lost, EventName.PROGRESS, job.version)
    finally:
        await kernel.store.close()
    send_duplicate(stack, job_id)


def test_a_job_wrongly_judged_lost_is_finished_by_one_delivery_only(pool_stack: LiveStack, figures: Figures) -> None:
    """Re-queued while its first delivery still runs, a job is taken over and the first run writes no more."""
    with api_client(pool_stack.api_url) as api:
        job = submit_running(api, steps=10, step_seconds=0.2)
        asyncio.run(requeue_as_the_reaper_would(pool_stack, job["id"]))
        figures.add("faults.false_reap")
        done = wait_job(api, job["id"])
    assert done["state"] == "succeeded" and done["attempts"] == 2, done
    events = job_events(pool_stack, job["id"])
    restart = max(n for n, event in enumerate(events) if event["event"] == "job.started")
    second = events[restart]["job"]["worker"]
    assert second != job["worker"]
    assert all(event["job"]["worker"] == second for event in events[restart:]), "the first delivery kept writing"
    assert [event["event"] for event in events].count("job.succeeded") == 1
    figures.job_outcomes(accepted=1, finished=1)


def test_worker_restarted_under_the_same_name_does_not_strand_its_job(pool_stack: LiveStack, figures: Figures) -> None:
    """A worker killed and restarted (same host name) before its heartbeat expires still gets its job re-run."""
    stack = pool_stack
    with api_client(stack.api_url) as api:
        job = submit_running(api)
        assert stack.worker is not None
        old_pid = stack.worker.pid
        stack.worker.kill()
        assert not process_alive(old_pid)
        figures.add("faults.worker_sigkill")
        stack.start_worker()  # as a container restart policy would, under the same host name
        done = wait_job(api, job["id"], timeout=15)
        assert done["state"] == "succeeded", done
        figures.job_outcomes(accepted=1, finished=1)
