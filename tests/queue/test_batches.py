"""Batches, sweeps, retry and clone through a real worker on a real Redis."""

from __future__ import annotations

import httpx
import redis

from myspinbot.cli.procs import wait_until
from tests.support.batch_observer import FINISHED_BATCHES
from tests.support.jobs import png_bytes
from tests.support.processes import LiveStack


def job_count(stack: LiveStack) -> int:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return int(client.zcard("myspinbot:jobs:all"))
    finally:
        client.close()


def wait_batch(api: httpx.Client, batch_id: str, timeout: float = 60) -> dict:
    """Poll the batch until every job of it has finished."""
    found: dict = {}

    def finished() -> bool:
        nonlocal found
        found = api.get(f"/api/batches/{batch_id}").json()
        return bool(found["finished"])

    wait_until(finished, timeout, what=f"batch {batch_id} to finish")
    return found


def wait_job(api: httpx.Client, job_id: str, states: tuple[str, ...], timeout: float = 60) -> dict:
    found: dict = {}

    def reached() -> bool:
        nonlocal found
        found = api.get(f"/api/jobs/{job_id}").json()
        return found["state"] in states

    wait_until(reached, timeout, interval=0.02, what=f"job {job_id} in {states}")
    return found


def test_a_sweep_makes_one_job_per_combination(queue_stack: LiveStack, api: httpx.Client) -> None:
    """A 3 × 4 sweep makes 12 jobs with exactly the 12 parameter sets, one batch id, all succeed."""
    sweep = {"steps": [1, 2, 3], "step_seconds": [0, 0.001, 0.002, 0.003]}
    response = api.post("/api/batches/sleepy", json={"sweep": sweep, "base": {"note": "sweep"}})
    assert response.status_code == 202, response.text
    batch = response.json()
    assert batch["total"] == 12 and len(batch["job_ids"]) == 12
    got = {(job["params"]["steps"], job["params"]["step_seconds"]) for job in batch["jobs"]}
    assert got == {(steps, seconds) for steps in sweep["steps"] for seconds in sweep["step_seconds"]}
    assert {job["batch_id"] for job in batch["jobs"]} == {batch["id"]}
    assert all(job["params"]["note"] == "sweep" for job in batch["jobs"])
    done = wait_batch(api, batch["id"])
    assert done["counts"] == {"succeeded": 12} and done["progress"] == 1.0


def test_one_invalid_set_rejects_the_whole_batch(queue_stack: LiveStack, api: httpx.Client) -> None:
    """A sweep whose third set is out of range, or a list with one bad set: 422 naming the set, no job made."""
    before = job_count(queue_stack)
    swept = api.post("/api/batches/sleepy", json={"sweep": {"steps": [1, 2, 99_999]}})
    assert swept.status_code == 422
    error = swept.json()["error"]
    assert "parameter set 2" in error["message"] and error["details"][0]["field"] == "params[2].steps"
    listed = api.post("/api/batches/sleepy", json={"params": [{"steps": 1}, {"steps": 1, "colour": "red"}]})
    assert listed.status_code == 422 and listed.json()["error"]["details"][0]["field"] == "params[1].colour"
    too_many = api.post("/api/batches/sleepy", json={"sweep": {"steps": list(range(1, 12)), "step_seconds": [0] * 10}})
    assert (
        too_many.status_code == 422 and "MYSPINBOT_MAX_BATCH_JOBS" in too_many.json()["error"]["details"][0]["message"]
    )
    assert job_count(queue_stack) == before


def test_cancelling_a_batch_cancels_queued_jobs_and_stops_the_running_one(
    queue_stack: LiveStack, api: httpx.Client
) -> None:
    """One slot, four long jobs: cancel stops the running one and cancels the three waiting;
    the batch ends cancelled and `batch_finished` fires once."""
    batch = api.post("/api/batches/sleepy", json={"params": [{"steps": 100, "step_seconds": 0.1}] * 4}).json()
    first = batch["job_ids"][0]
    wait_job(api, first, ("running",))
    cancelled = api.post(f"/api/batches/{batch['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["counts"].get("cancelled", 0) >= 3
    done = wait_batch(api, batch["id"], timeout=30)
    assert done["counts"] == {"cancelled": 4}
    assert api.get(f"/api/jobs/{first}").json()["step"] < 100  # it stopped, it did not run out
    client = redis.Redis.from_url(queue_stack.redis_url)
    try:
        wait_until(
            lambda: any(item.decode().startswith(batch["id"]) for item in client.lrange(FINISHED_BATCHES, 0, -1)), 10
        )
        calls = [item for item in client.lrange(FINISHED_BATCHES, 0, -1) if item.decode().startswith(batch["id"])]
    finally:
        client.close()
    assert len(calls) == 1


def test_an_idempotency_key_returns_the_first_batch(queue_stack: LiveStack, api: httpx.Client) -> None:
    """The same Idempotency-Key again gives the first batch back and makes no job."""
    body = {"params": [{"steps": 1}, {"steps": 2}]}
    first = api.post("/api/batches/sleepy", json=body, headers={"Idempotency-Key": "nightly-42"})
    count = job_count(queue_stack)
    again = api.post("/api/batches/sleepy", json=body, headers={"Idempotency-Key": "nightly-42"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.json()["job_ids"] == first.json()["job_ids"]
    assert job_count(queue_stack) == count
    assert api.get("/api/batches/" + "0" * 32).json()["error"]["code"] == "batch_not_found"


def test_clone_with_edits_is_validated_and_keeps_the_rest(queue_stack: LiveStack, api: httpx.Client) -> None:
    """A clone changes only what it names, is refused like a submit when an edit is bad, and links back."""
    job = api.post("/api/jobs/sleepy", json={"steps": 2, "note": "keep me"}).json()
    bad = api.post(f"/api/jobs/{job['id']}/clone", json={"steps": 0})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "steps"
    clone = api.post(f"/api/jobs/{job['id']}/clone?priority=high", json={"steps": 3})
    assert clone.status_code == 202, clone.text
    assert clone.json()["params"] == {**job["params"], "steps": 3}
    assert clone.json()["cloned_from"] == job["id"] and clone.json()["priority"] == "high"
    assert wait_job(api, clone.json()["id"], ("succeeded",))["result"] == {"steps": 3}
    retry = api.post(f"/api/jobs/{clone.json()['id']}/retry")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "not_retryable"


def test_retry_of_a_failed_train_job_reuses_its_dataset_and_succeeds(queue_stack: LiveStack, api: httpx.Client) -> None:
    """A train job fails (its worker is killed mid-run, one attempt allowed); its retry runs on
    the same dataset files, with no upload, and succeeds. (Last: it restarts the stack's worker.)"""
    files = []
    for index in range(3):
        files.append(("files", (f"dog{index}.png", png_bytes(color=(index * 70, 90, 40)), "image/png")))
        files.append(("files", (f"dog{index}.txt", f"a photo of sks dog {index}".encode(), "text/plain")))
    data = {
        "base_model": "stabilityai/sdxl-base-1.0",
        "network_dim": "4",
        "max_train_steps": "40",
        "output_name": "sks",
    }
    train = api.post("/api/train", data=data, files=files)
    assert train.status_code == 202, train.text
    job_id = train.json()["id"]
    wait_job(api, job_id, ("running",))
    assert queue_stack.worker is not None
    queue_stack.worker.kill()
    failed = wait_job(api, job_id, ("failed", "succeeded"), timeout=30)
    assert failed["state"] == "failed" and "lost" in failed["error"]
    queue_stack.start_worker()
    retry = api.post(f"/api/jobs/{job_id}/retry")  # no body, no files
    assert retry.status_code == 202, retry.text
    again = retry.json()
    assert again["retry_of"] == job_id and sorted(again["inputs"]) == sorted(failed["inputs"])
    old_inputs = queue_stack.data_dir / "jobs" / job_id / "inputs"
    new_inputs = queue_stack.data_dir / "jobs" / again["id"] / "inputs"
    for name in failed["inputs"]:
        assert (new_inputs / name).stat().st_ino == (old_inputs / name).stat().st_ino  # the same file, linked
    done = wait_job(api, again["id"], ("succeeded", "failed"), timeout=60)
    assert done["state"] == "succeeded", done
    assert done["result"]["images"] == 3 and any(a["name"] == "sks.safetensors" for a in done["artifacts"])
