"""Faults in containers: a worker container killed mid-job, the API containers restarted under a WS client."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from myspinbot.cli.procs import wait_until
from myspinbot_client import ApiError, JobEvent
from tests.containers.jobs import FINISHED, job_events, ran_on, submit_generate, submit_train
from tests.containers.stack import ComposeStack
from tests.containers.through_traefik import api_client


def test_a_worker_container_killed_mid_job_never_leaves_it_stuck(compose_stack: ComposeStack, tmp_path: Path) -> None:
    """kill -s KILL on the train worker's container mid-job: the job is re-run (or fails with a reason), never stuck."""
    with api_client(compose_stack) as api:
        job = submit_train(api, tmp_path / "dataset", "killed")
        wait_until(lambda: api.get(job.id).step >= 2, 60, "the train job to be a few steps in")
        running = api.get(job.id)
        assert running.state.value == "running" and ran_on(compose_stack, running) == "worker-train"
        first_worker = running.worker
        # The container's PID 1 (its init) with SIGKILL: the whole container dies at once, as in a crash.
        os.kill(int(compose_stack.container("worker-train")["State"]["Pid"]), signal.SIGKILL)

        def left_the_dead_worker() -> bool:
            now = api.get(job.id)
            return now.state.value != "running" or now.worker != first_worker

        wait_until(left_the_dead_worker, 120, "the job to leave the dead worker")
        finished = api.wait(job.id, timeout=180)
    if finished.state.value == "succeeded":
        assert finished.attempts >= 2, finished
        assert ran_on(compose_stack, finished) == "worker-train"  # the restarted container took it again
    else:
        assert finished.state.value == "failed" and finished.error, finished
    assert compose_stack.container("worker-train")["State"]["Status"] == "running", "restart policy brings it back"


def test_api_containers_restarted_under_a_ws_client_lose_no_event(compose_stack: ComposeStack, tmp_path: Path) -> None:
    """Both API replicas restarted under a client watching a job, which runs while they are down: no event is lost."""
    seen: list[JobEvent] = []
    reconnects: list[ApiError] = []
    failure: list[BaseException] = []
    # The train worker is held back so the job cannot finish before the client is cut off.
    compose_stack.compose("stop", "-t", "10", "worker-train", timeout=120)
    with api_client(compose_stack) as api:
        job = submit_train(api, tmp_path / "dataset", "restarted")

        def watch() -> None:
            try:
                with api_client(compose_stack) as own:
                    stream = own.watch(
                        job.id,
                        last_event_id="0-0",
                        timeout=300,
                        reconnect_for=240,
                        on_reconnect=lambda error, _delay: reconnects.append(error),
                    )
                    seen.extend(stream)
            except BaseException as error:  # reported by the assertion below
                failure.append(error)

        watcher = threading.Thread(target=watch, name="restart-watcher")
        watcher.start()
        wait_until(lambda: any(event.event == "job.queued" for event in seen), 60, "the watcher to see the job")
        compose_stack.compose("stop", "-t", "5", "api", timeout=120)
        # With every API replica down, the worker runs the whole job: its events go to the stream only.
        compose_stack.compose("start", "worker-train", timeout=120)
        finished = "the job to finish while the API is down"
        wait_until(lambda: job_state(compose_stack, job.id) == "succeeded", 120, finished)
        compose_stack.compose("start", "api", timeout=180)
        watcher.join(300)
        assert not failure, failure
        assert reconnects, "the client was never cut off"
        replay = list(api.watch(job.id, last_event_id="0-0", timeout=60))
        # The restarted replicas serve fresh work too.
        assert api.wait(submit_generate(api, "after the restart").id, timeout=120).state.value == "succeeded"
    watched = [(event.id, event.event) for event in job_events(seen, job.id)]
    assert watched == [(event.id, event.event) for event in job_events(replay, job.id)]
    assert len({event_id for event_id, _ in watched}) == len(watched), "an event was delivered twice"
    assert watched[0][1] == "job.queued" and watched[-1][1] == "job.succeeded", watched
    assert seen[-1].job.state.value in FINISHED


def job_state(stack: ComposeStack, job_id: str) -> str:
    """A job's state read from Redis itself (the API may be down)."""
    return stack.exec("redis", "redis-cli", "HGET", f"myspinbot:job:{job_id}", "state").strip()
