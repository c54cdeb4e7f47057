"""Telemetry of a third-party job type end to end: metrics, logs and preview over HTTP and /ws."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from myspinbot_client.telemetry import TELEMETRY_FRAMES
from tests.support.jobs import FINISHED, wait_state


def run_watched(client: TestClient, params: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit a probe job and read its /ws frames (subscribed by id) until it finishes."""
    job = client.post("/api/jobs/probe", json=params).json()
    frames: list[dict[str, Any]] = []
    with client.websocket_connect(f"/ws?jobs={job['id']}") as ws:
        for _ in range(10_000):
            frame = ws.receive_json()
            frames.append(frame)
            if frame["type"] in ("event", "snapshot"):
                jobs = [frame["job"]] if frame["type"] == "event" else frame["jobs"]
                if any(item["state"] in FINISHED for item in jobs):
                    break
    return wait_state(client, job["id"]), frames


def test_probe_reports_metrics_logs_and_preview(api: TestClient) -> None:
    """Every point of an arbitrary metric is kept as a series, logs and the preview are served,
    and a watch of the job gets coalesced job.metric frames and its job.preview."""
    steps = 400
    job, frames = run_watched(api, {"steps": steps, "progress_every": 50, "step_seconds": 0.3})
    assert job["state"] == "succeeded", job

    metrics = api.get(f"/api/jobs/{job['id']}/metrics").json()
    assert metrics["points"] == steps and metrics["dropped"] == 0 and metrics["last_step"] == steps
    series = {item["name"]: item for item in metrics["series"]}
    assert sorted(series) == ["psnr_db", "queue/items_per_s"]
    assert series["psnr_db"]["steps"] == list(range(1, steps + 1))
    assert series["psnr_db"]["values"][:3] == [21.0, 22.0, 23.0]

    shrunk = api.get(f"/api/jobs/{job['id']}/metrics", params={"names": "psnr_db", "max_points": 20}).json()
    [small] = shrunk["series"]
    assert small["points"] == steps and len(small["steps"]) <= 20
    assert min(small["values"]) == 20.0 and max(small["values"]) == 26.0  # peaks survive

    later = api.get(f"/api/jobs/{job['id']}/metrics", params={"since_step": steps - 5}).json()
    assert {item["name"]: item["steps"] for item in later["series"]}["psnr_db"] == list(range(steps - 4, steps + 1))

    logs = api.get(f"/api/jobs/{job['id']}/logs").json()
    messages = [line["message"] for line in logs["lines"]]
    assert messages[0] == "probe starting" and messages[-1] == f"probe done after {steps} steps"
    assert [line["seq"] for line in logs["lines"]] == list(range(1, logs["last_seq"] + 1))
    assert api.get(f"/api/jobs/{job['id']}/logs", params={"since": logs["last_seq"]}).json()["lines"] == []

    preview = api.get(f"/api/jobs/{job['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    again = api.get(f"/api/jobs/{job['id']}/preview", headers={"If-None-Match": preview.headers["etag"]})
    assert again.status_code == 304

    metric_frames = [frame for frame in frames if frame["type"] == "job.metric"]
    assert metric_frames, [frame["type"] for frame in frames]
    assert all(frame["job_id"] == job["id"] for frame in metric_frames)
    assert len(metric_frames) < steps / 10  # coalesced, not one frame per point
    assert set(metric_frames[-1]["values"]) == {"psnr_db", "queue/items_per_s"}
    steps_seen = [frame["step"] for frame in metric_frames]
    assert steps_seen == sorted(steps_seen)
    assert any(frame["type"] == "job.preview" and frame["version"] >= 1 for frame in frames)


def test_watch_of_every_job_gets_no_telemetry(api: TestClient) -> None:
    """Telemetry frames go only to clients subscribed to the job by id."""
    with api.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "snapshot"
        job = api.post("/api/jobs/probe", json={"steps": 200, "progress_every": 50, "step_seconds": 0.3}).json()
        kinds = []
        while True:
            frame = ws.receive_json()
            kinds.append(frame["type"])
            if frame["type"] == "event" and frame["job"]["id"] == job["id"] and frame["job"]["state"] in FINISHED:
                break
    assert "event" in kinds and not set(kinds) & TELEMETRY_FRAMES


def test_telemetry_reads_reject_bad_input(api: TestClient) -> None:
    """Unknown jobs are 404, bad metric names and bounds 422, a job without preview 404, all in the error shape."""
    missing = api.get("/api/jobs/" + "0" * 32 + "/metrics")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
    job = api.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    wait_state(api, job["id"])
    bad_names = api.get(f"/api/jobs/{job['id']}/metrics", params={"names": "loss;drop"})
    assert bad_names.status_code == 422 and bad_names.json()["error"]["details"][0]["field"] == "names"
    bad_bound = api.get(f"/api/jobs/{job['id']}/metrics", params={"max_points": 1})
    assert bad_bound.status_code == 422 and "max_points" in bad_bound.text
    assert api.get(f"/api/jobs/{job['id']}/logs", params={"tail": 0}).status_code == 422
    no_preview = api.get(f"/api/jobs/{job['id']}/preview")
    assert no_preview.status_code == 404 and no_preview.json()["error"]["code"] == "preview_not_found"
    empty = api.get(f"/api/jobs/{job['id']}/metrics").json()
    assert empty == {"job_id": job["id"], "series": [], "points": 0, "dropped": 0, "last_step": None}


def test_metrics_endpoint_counts_ingested_points(api: TestClient) -> None:
    """/metrics reports telemetry points ingested (global) and dropped."""
    job = api.post("/api/jobs/probe", json={"steps": 30, "progress_every": 30}).json()
    assert wait_state(api, job["id"])["state"] == "succeeded"
    text = api.get("/metrics").text
    ingested = [line for line in text.splitlines() if line.startswith("myspinbot_telemetry_points_ingested_total ")]
    assert ingested and float(ingested[0].split()[1]) >= 30
    assert "myspinbot_telemetry_points_dropped_total" in text
    assert 'myspinbot_ws_telemetry_frames_total{outcome="sent"}' in text
