"""The train job's telemetry through a real worker: live samples and checkpoints, series, resume, bursts."""

from __future__ import annotations

import json
import struct
from typing import Any

from fastapi.testclient import TestClient

from tests.support.jobs import FINISHED, png_bytes, wait_state

PROMPTS = [{"prompt": "sks dog on a beach", "seed": 1}, {"prompt": "sks dog in space", "seed": 2}]


def submit_train(api: TestClient, **params: Any) -> dict[str, Any]:
    """A train job on two images; 202 expected."""
    form = {
        "base_model": "sdxl",
        "seed": "7",
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()},
    }
    files = [("files", (f"img{i}.png", png_bytes(color=(i * 90, 40, 40)), "image/png")) for i in range(2)]
    response = api.post("/api/train", data=form, files=files)
    assert response.status_code == 202, response.text
    return response.json()


def frames_until_finished(api: TestClient, job_id: str) -> list[dict[str, Any]]:
    """Every /ws frame of a watch of one job, until its finishing event."""
    frames = []
    with api.websocket_connect(f"/ws?jobs={job_id}") as ws:
        while True:
            frame = ws.receive_json()
            frames.append(frame)
            jobs = [frame["job"]] if frame["type"] == "event" else frame.get("jobs", [])
            if frame["type"] in ("event", "snapshot") and any(job["state"] in FINISHED for job in jobs):
                return frames


def parse_safetensors(data: bytes) -> dict[str, Any]:
    """The header of a .safetensors file, checked against the spec (offsets fill the data section)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    end = max(entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__")
    assert 8 + length + end == len(data)
    return header


def test_train_run_shows_samples_checkpoints_and_every_step(api: TestClient) -> None:
    """Checkpoints and samples arrive over the WS while the job runs, each at its step; checkpoints parse
    as safetensors; the loss has one point per step, and downsampled to 200 points keeps its minimum."""
    job = submit_train(
        api, max_train_steps=1000, save_every_n_steps=250, sample_every_n_steps=250, sample_prompts=PROMPTS
    )
    frames = frames_until_finished(api, job["id"])
    finished_at = next(i for i, f in enumerate(frames) if f["type"] == "event" and f["job"]["state"] in FINISHED)
    live = [(i, f["artifact"]) for i, f in enumerate(frames) if f["type"] == "job.artifact" and "artifact" in f]
    assert all(i < finished_at for i, _ in live)  # while it runs
    checkpoints = [a for _, a in live if a["kind"] == "checkpoint"]
    samples = [a for _, a in live if a["kind"] == "sample"]
    assert [(a["name"], a["step"]) for a in checkpoints] == [(f"lora-{s:06d}.safetensors", s) for s in (250, 500, 750)]
    assert [(a["step"], a["caption"], a["seed"]) for a in samples] == [
        (s, p["prompt"], p["seed"]) for s in (250, 500, 750, 1000) for p in PROMPTS
    ]
    done = wait_state(api, job["id"])
    assert done["state"] == "succeeded", done
    for artifact in checkpoints:
        header = parse_safetensors(api.get(artifact["url"]).content)
        assert header["__metadata__"]["myspinbot.step"] == str(artifact["step"])
    image = api.get(samples[0]["url"])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

    metrics = api.get(f"/api/jobs/{job['id']}/metrics", params={"names": "loss"}).json()
    [loss] = metrics["series"]
    assert loss["steps"] == list(range(1, 1001))
    small = api.get(f"/api/jobs/{job['id']}/metrics", params={"names": "loss", "max_points": 200}).json()
    [shrunk] = small["series"]
    assert len(shrunk["steps"]) <= 200 and shrunk["points"] == 1000
    assert min(shrunk["values"]) == min(loss["values"])
    assert any(f["type"] == "job.metric" and "loss" in f["values"] for f in frames)


def test_resumed_run_starts_at_the_checkpoint_and_continues_its_curve(api: TestClient) -> None:
    """train more from a checkpoint: the new job's series starts right after its step, on the same curve."""
    first = submit_train(api, max_train_steps=400, save_every_n_steps=200)
    assert wait_state(api, first["id"])["state"] == "succeeded"
    resumed = submit_train(api, max_train_steps=600, resume_from=f"{first['id']}/lora-000200.safetensors")
    job = wait_state(api, resumed["id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["resumed_from_step"] == 200
    before = api.get(f"/api/jobs/{first['id']}/metrics", params={"names": "loss"}).json()["series"][0]
    after = api.get(f"/api/jobs/{resumed['id']}/metrics", params={"names": "loss"}).json()["series"][0]
    assert after["steps"] == list(range(201, 601))
    assert after["values"][:200] == before["values"][200:400]  # the same curve from step 201 on
    logs = api.get(f"/api/jobs/{resumed['id']}/logs").json()["lines"]
    assert any("resuming from" in line["message"] and "at step 200" in line["message"] for line in logs)


def test_resume_from_an_unknown_job_or_checkpoint_is_422_and_leaves_nothing(api: TestClient) -> None:
    """resume_from naming a job or an artifact that does not exist is refused at submit, naming the field."""
    before = len(api.get("/api/jobs", params={"limit": 200}).json()["jobs"])
    for resume_from, words in [
        ("0" * 32 + "/lora-000100.safetensors", "no train job"),
        ("not-a-checkpoint", "resume_from"),
    ]:
        form = {"base_model": "sdxl", "resume_from": resume_from}
        files = [("files", ("a.png", png_bytes(), "image/png"))]
        response = api.post("/api/train", data=form, files=files)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["details"][0]["field"] == "resume_from" and words in response.text
    sleepy = api.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    wait_state(api, sleepy["id"])
    form = {"base_model": "sdxl", "resume_from": f"{sleepy['id']}/lora.safetensors"}
    response = api.post("/api/train", data=form, files=[("files", ("a.png", png_bytes(), "image/png"))])
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "resume_from"
    assert len(api.get("/api/jobs", params={"limit": 200}).json()["jobs"]) == before + 1  # only the sleepy job


def test_burst_of_200k_points_leaves_state_replay_intact(api: TestClient) -> None:
    """200,000 metric points from running jobs: a client reconnecting with an id from before the burst
    still gets every state event of those jobs, in order, although the state stream keeps only ~500."""
    with api.websocket_connect("/ws?jobs=" + "f" * 32) as ws:
        mark = ws.receive_json()["last_event_id"]
    jobs = [api.post("/api/jobs/probe", json={"steps": 50_000, "progress_every": 10_000}).json() for _ in range(4)]
    for job in jobs:
        assert wait_state(api, job["id"], timeout=120)["state"] == "succeeded"
    assert sum(api.get(f"/api/jobs/{job['id']}/metrics").json()["points"] for job in jobs) == 200_000
    ids = {job["id"] for job in jobs}
    seen: dict[str, list[str]] = {job_id: [] for job_id in ids}
    with api.websocket_connect(f"/ws?last_event_id={mark}&jobs={','.join(sorted(ids))}") as ws:
        assert ws.receive_json()["type"] == "hello"
        while sum(1 for names in seen.values() if names and names[-1] == "job.succeeded") < len(ids):
            frame = ws.receive_json()
            assert frame["type"] != "error", frame
            if frame["type"] == "event":
                seen[frame["job"]["id"]].append(frame["event"])
    expected = ["job.queued", "job.started", *["job.progress"] * 5, "job.succeeded"]
    assert all(names == expected for names in seen.values()), seen
