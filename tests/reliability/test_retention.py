"""Retention: finished jobs expire after MYSPINBOT_JOB_TTL_SECONDS, and their files follow them."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from myspinbot.cli.procs import wait_until
from myspinbot.core.jobtypes import JobType
from myspinbot.core.kernel import Kernel
from myspinbot.core.queueing import Priority
from myspinbot.core.settings import Settings
from myspinbot.worker.maintenance import ORPHAN_GRACE_SECONDS, STAGING_MAX_AGE_SECONDS, Maintenance
from tests.reliability.support import FAST_FAULTS, Figures, api_client, running_stack, wait_job
from tests.support.processes import TEST_PLUGINS, LiveStack

pytestmark = pytest.mark.slow

TTL_SECONDS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A stack that keeps finished jobs for 2 s; its API's own maintenance pass is left to the test."""
    env = {**FAST_FAULTS, "MYSPINBOT_JOB_TTL_SECONDS": str(TTL_SECONDS), "MYSPINBOT_MAINTENANCE_SECONDS": "3600"}
    with running_stack(tmp_path_factory.mktemp("retention"), env) as live:
        yield live


def age(path: Path, seconds: float) -> None:
    """Make a folder look `seconds` old."""
    then = time.time() - seconds
    os.utime(path, (then, then))


class NoRequeueExpected:
    """A job queue that fails the test if the maintenance pass re-queues anything."""

    async def publish(
        self, job_type: JobType, job_id: str, priority: Priority = Priority.NORMAL, *, queued: str | None = None
    ) -> None:
        raise AssertionError(f"nothing should be re-queued here, got {job_id}")

    def close(self) -> None:
        pass


async def maintenance_pass(stack: LiveStack) -> dict[str, int]:
    """One `Maintenance.run_once()`, as the API's maintenance loop runs it, on the stack's Redis and data."""
    settings = Settings(
        redis_url=stack.redis_url,
        data_dir=stack.data_dir,
        extra_plugins=[TEST_PLUGINS],
        _env_file=None,
    )
    kernel = Kernel(settings)
    try:
        return await Maintenance(kernel, NoRequeueExpected(), interval=1).run_once()
    finally:
        await kernel.store.close()


def test_finished_jobs_expire_and_cleanup_removes_only_orphaned_files(stack: LiveStack, figures: Figures) -> None:
    """Finished jobs expire after their TTL; cleanup removes their folders and stale staging, nothing live."""
    with api_client(stack.api_url) as api:
        done = api.post("/api/jobs/sleepy", json={"steps": 2, "step_seconds": 0, "scratch_bytes": 16}).json()
        wait_job(api, done["id"])
        bare = api.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
        wait_job(api, bare["id"])
        assert not (stack.data_dir / "jobs" / bare["id"]).exists(), "a job that used no workdir got no folder"
        with redis.Redis.from_url(stack.redis_url, protocol=2) as client:
            record_ttl = client.ttl(f"myspinbot:job:{done['id']}")
        assert 0 < record_ttl <= TTL_SECONDS
        wait_until(lambda: api.get(f"/api/jobs/{done['id']}").status_code == 404, TTL_SECONDS + 3, what="expiry")
        assert done["id"] not in {job["id"] for job in api.get("/api/jobs?limit=200").json()["jobs"]}
        running = {"steps": 200, "step_seconds": 0.05, "scratch_bytes": 16}
        kept = api.post("/api/jobs/sleepy", json=running).json()  # still running
        wait_job(api, kept["id"], states=("running",))

        jobs_dir, staging = stack.data_dir / "jobs", stack.data_dir / "staging"
        expired = jobs_dir / done["id"]
        assert expired.is_dir(), "the finished job had a folder (its work dir)"
        fresh_orphan = jobs_dir / uuid.uuid4().hex  # a submit writing files before its record
        fresh_orphan.mkdir(parents=True)
        old_staging, new_staging = staging / uuid.uuid4().hex, staging / uuid.uuid4().hex
        old_staging.mkdir(parents=True)
        new_staging.mkdir(parents=True)
        for folder in (expired, jobs_dir / kept["id"]):
            age(folder, ORPHAN_GRACE_SECONDS + 60)
        age(old_staging, STAGING_MAX_AGE_SECONDS + 60)

        report = asyncio.run(maintenance_pass(stack))

        assert report["files_removed"] == 2
        assert not expired.exists() and not old_staging.exists()
        assert (jobs_dir / kept["id"]).is_dir() and fresh_orphan.is_dir() and new_staging.is_dir()
        assert api.post(f"/api/jobs/{kept['id']}/cancel").status_code == 200
    figures.set("retention.ttl_seconds_tested", TTL_SECONDS)
    figures.set("retention.folders_removed", report["files_removed"])
