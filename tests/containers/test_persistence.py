"""Persistence across `docker compose down` and `up` without `-v`: the named volumes keep the jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from myspinbot_client import Job
from tests.containers.jobs import submit_generate
from tests.containers.stack import SERVICES, ComposeStack
from tests.containers.through_traefik import api_client, wait_routed

WORKERS = ("worker", "worker-train")


@dataclass
class Recreated:
    """What was there before the stack was taken down and brought up again."""

    finished: Job
    artifacts: dict[str, bytes]
    queued: Job
    after_up: Job | None = None  # the queued job read back before any worker is started again


def read_artifacts(stack: ComposeStack, job: Job, folder: Path) -> dict[str, bytes]:
    """A job's artifacts downloaded through Traefik, by name."""
    with api_client(stack) as api:
        return {path.name: path.read_bytes() for path in api.download(job.id, folder)}


@pytest.fixture(scope="module")
def recreated(compose_stack: ComposeStack, tmp_path_factory: pytest.TempPathFactory) -> Recreated:
    """A finished job and a queued one (workers stopped), then `down` and `up` with the workers still off.

    The second test starts the workers again, so the stack is whole once this module is done.
    """
    folder = tmp_path_factory.mktemp("persistence")
    # Routed before it starts: a test before it may have restarted the API and failed midway.
    wait_routed(compose_stack)
    with api_client(compose_stack) as api:
        finished = api.wait(submit_generate(api, "kept across down and up").id, timeout=120)
        compose_stack.compose("stop", "-t", "30", *WORKERS, timeout=120)
        queued = submit_generate(api, "queued across down and up")
    state = Recreated(finished, read_artifacts(compose_stack, finished, folder / "before"), queued)
    compose_stack.down(volumes=False)
    assert not compose_stack.containers(), "down left containers behind"
    compose_stack.up(*(name for name in SERVICES if name not in WORKERS))
    wait_routed(compose_stack)
    with api_client(compose_stack) as api:
        state.after_up = api.get(queued.id)
    return state


def test_finished_jobs_and_their_artifacts_survive_down_and_up(
    compose_stack: ComposeStack, recreated: Recreated, tmp_path: Path
) -> None:
    """After down/up (no -v) a finished job is still listed as succeeded and its files download byte for byte."""
    assert recreated.finished.state.value == "succeeded"
    with api_client(compose_stack) as api:
        again = api.get(recreated.finished.id)
        listed = {job.id for job in api.list(state="succeeded", limit=200)}
    assert again.state.value == "succeeded" and again.finished_at == recreated.finished.finished_at
    assert recreated.finished.id in listed
    assert read_artifacts(compose_stack, again, tmp_path) == recreated.artifacts


def test_the_redis_volume_keeps_queued_jobs(compose_stack: ComposeStack, recreated: Recreated) -> None:
    """A job queued before down is still queued after up, and runs once the workers are back."""
    assert recreated.after_up is not None and recreated.after_up.state.value == "queued", recreated.after_up
    compose_stack.up(*WORKERS)
    with api_client(compose_stack) as api:
        done = api.wait(recreated.queued.id, timeout=120)
    assert done.state.value == "succeeded", done.error
