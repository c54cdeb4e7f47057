"""Train and generate jobs end to end through a real worker: states, progress, artifacts."""

from __future__ import annotations

import io
import json
import struct

from fastapi.testclient import TestClient
from PIL import Image

from tests.support.jobs import job_events, open_stream, png_bytes, wait_state
from tests.support.processes import ServiceProcess


def assert_lifecycle(frames: list[dict]) -> None:
    """queued → running → succeeded, with progress that never goes back."""
    names = [frame["event"] for frame in frames]
    assert names[0] == "job.queued" and names[1] == "job.started" and names[-1] == "job.succeeded"
    assert set(names[2:-1]) == {"job.progress"}
    progress = [frame["job"]["progress"] for frame in frames]
    assert progress == sorted(progress) and progress[-1] == 1.0
    ids = [frame["id"] for frame in frames]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))


def read_safetensors_header(data: bytes) -> dict:
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    end = max(entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__")
    assert 8 + length + end == len(data), "tensor data must fill the file exactly"
    return header


def test_train_job_with_images_and_captions_succeeds(client: TestClient, worker: ServiceProcess) -> None:
    """A train job with 3 images and captions runs to succeeded and its LoRA file parses."""
    files = []
    for index in range(3):
        files.append(("files", (f"img{index}.png", png_bytes(color=(index * 80, 40, 40)), "image/png")))
        files.append(("files", (f"img{index}.txt", f"a photo of sks dog, pose {index}".encode(), "text/plain")))
    with client.websocket_connect("/ws") as ws:
        open_stream(ws)
        response = client.post(
            "/api/train",
            data={
                "base_model": "stabilityai/sdxl-base-1.0",
                "network_dim": "8",
                "max_train_steps": "40",
                "output_name": "sksdog",
            },
            files=files,
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["state"] == "queued" and job["type"] == "train"
        assert sorted(job["inputs"]) == sorted(name for _, (name, _, _) in files)
        assert job["params"]["network_alpha"] == 4
        frames = job_events(ws, job["id"])
    assert_lifecycle(frames)
    messages = " ".join(frame["job"]["message"] for frame in frames)
    assert "loss" in messages
    done = frames[-1]["job"]
    names = {artifact["name"]: artifact for artifact in done["artifacts"]}
    assert "sksdog.safetensors" in names
    download = client.get(names["sksdog.safetensors"]["url"])
    assert download.status_code == 200
    header = read_safetensors_header(download.content)
    assert header["__metadata__"]["ss_network_dim"] == "8"
    assert any(name.endswith("lora_down.weight") for name in header)


def test_generate_job_succeeds_with_an_animated_preview(client: TestClient, worker: ServiceProcess) -> None:
    """A generate job runs to succeeded; its preview opens as an animation with the asked frames."""
    with client.websocket_connect("/ws") as ws:
        open_stream(ws)
        response = client.post(
            "/api/generate", json={"prompt": "a red fox in snow", "num_frames": 17, "width": 320, "height": 192}
        )
        assert response.status_code == 202, response.text
        frames = job_events(ws, response.json()["id"])
    assert_lifecycle(frames)
    done = frames[-1]["job"]
    preview = next(a for a in done["artifacts"] if a["content_type"] in ("image/gif", "image/webp"))
    download = client.get(preview["url"])
    assert download.headers["content-type"] == preview["content_type"]
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.is_animated
        assert image.n_frames == 17


def test_failing_handler_ends_failed_with_its_message(client: TestClient, worker: ServiceProcess) -> None:
    """A handler that raises ends the job failed with the error message."""
    job = client.post("/api/jobs/failing", json={"message": "out of VRAM"}).json()
    job = wait_state(client, job["id"])
    assert job["state"] == "failed"
    assert "out of VRAM" in job["error"]
    assert job["finished_at"] is not None


def test_status_route_and_job_route_agree(client: TestClient, worker: ServiceProcess) -> None:
    """GET /api/status/{id} and GET /api/jobs/{id} return the same job."""
    job = client.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}).json()
    done = wait_state(client, job["id"])
    assert client.get(f"/api/status/{job['id']}").json() == done
