"""Rejected submissions get the right status, name what to fix, and leave nothing behind."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from myspinbot.cli.procs import free_port
from myspinbot.worker.wire import JobPublisher
from tests.support.jobs import png_bytes


def footprint(settings: Settings) -> tuple[int, int, set[str], set[str]]:
    """Job records, events, job folders and staging folders that exist now."""
    client = redis.Redis.from_url(settings.redis_url, protocol=2)
    try:
        records = int(client.zcard("myspinbot:jobs:all"))
        events = int(client.xlen("myspinbot:events"))
    finally:
        client.close()
    jobs = settings.data_dir / "jobs"
    staging = settings.data_dir / "staging"
    return (
        records,
        events,
        {p.name for p in jobs.iterdir()} if jobs.exists() else set(),
        {p.name for p in staging.iterdir()} if staging.exists() else set(),
    )


@pytest.fixture
def small_limits(settings: Settings) -> Iterator[tuple[TestClient, Settings]]:
    """An app with a 64 KiB upload limit."""
    limited = settings.model_copy(update={"max_upload_bytes": 64 * 1024})
    with TestClient(create_app(limited)) as client:
        yield client, limited


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("bad param", "/api/generate", {"json": {"prompt": "fox", "num_frames": 18}}, 422, "num_frames"),
    ("missing param", "/api/generate", {"json": {"num_frames": 17}}, 422, "prompt"),
    ("unknown param", "/api/generate", {"json": {"prompt": "fox", "num_frame": 17}}, 422, "num_frame"),
    ("lora of unknown job", "/api/generate", {"json": {"prompt": "fox", "lora_job_id": "0" * 32}}, 422, "lora_job_id"),
    (
        "wrong file type",
        "/api/train",
        {"data": {"base_model": "m"}, "files": [("files", ("x.exe", b"MZ", "application/octet-stream"))]},
        415,
        "files",
    ),
    (
        "fake image",
        "/api/train",
        {"data": {"base_model": "m"}, "files": [("files", ("x.png", b"not a png", "image/png"))]},
        415,
        "files",
    ),
    (
        "captions only",
        "/api/train",
        {"data": {"base_model": "m"}, "files": [("files", ("a.txt", b"caption", "text/plain"))]},
        422,
        "files",
    ),
    ("no dataset", "/api/train", {"data": {"base_model": "m"}}, 422, "files"),
    (
        "zip slip",
        "/api/train",
        {
            "data": {"base_model": "m"},
            "files": [("files", ("d.zip", zip_bytes({"../evil.png": png_bytes()}), "application/zip"))],
        },
        422,
        "files",
    ),
    (
        "zip with other types",
        "/api/train",
        {
            "data": {"base_model": "m"},
            "files": [("files", ("d.zip", zip_bytes({"run.sh": b"rm -rf /"}), "application/zip"))],
        },
        422,
        "files",
    ),
    (
        "file under unknown field",
        "/api/generate",
        {"data": {"prompt": "fox"}, "files": [("video", ("a.png", png_bytes(), "image/png"))]},
        422,
        "video",
    ),
    (
        "two init images",
        "/api/generate",
        {
            "data": {"prompt": "fox"},
            "files": [
                ("init_image", ("a.png", png_bytes(), "image/png")),
                ("init_image", ("b.png", png_bytes(), "image/png")),
            ],
        },
        422,
        "init_image",
    ),
]


@pytest.mark.parametrize(("case", "path", "kwargs", "status", "field"), CASES, ids=[case[0] for case in CASES])
def test_rejection_names_the_field_and_leaves_nothing(
    client: TestClient, settings: Settings, case: str, path: str, kwargs: dict[str, Any], status: int, field: str
) -> None:
    """Each bad request gets its status and names the field; no record, event or file remains."""
    before = footprint(settings)
    response = client.post(path, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert field in {detail["field"] for detail in error.get("details", [])} or field in error["message"]
    assert footprint(settings) == before


def test_oversize_upload_is_413_and_leaves_nothing(small_limits: tuple[TestClient, Settings]) -> None:
    """A file over the configured limit answers 413 and leaves nothing behind."""
    client, settings = small_limits
    before = footprint(settings)
    big = png_bytes(400, 400) + b"\0" * (80 * 1024)
    response = client.post("/api/train", data={"base_model": "m"}, files=[("files", ("big.png", big, "image/png"))])
    assert response.status_code == 413
    assert "65536" in response.json()["error"]["message"]
    assert footprint(settings) == before


def test_unreachable_broker_gives_503_and_no_job(settings: Settings) -> None:
    """If the broker cannot take the job, the client gets 503 and no record or file remains."""
    app = create_app(settings)
    dead_broker = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app.state.submitter.publisher = JobPublisher(dead_broker)
    with TestClient(app) as client:
        before = footprint(settings)
        response = client.post(
            "/api/train", data={"base_model": "m"}, files=[("files", ("a.png", png_bytes(), "image/png"))]
        )
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "broker_unavailable"
        records, _, jobs, staging = footprint(settings)
        assert (records, jobs, staging) == (before[0], before[2], before[3])


def test_files_are_stored_under_the_job_folder_with_safe_names(client: TestClient, settings: Settings) -> None:
    """Uploaded names are sanitised and stored only inside the job's own folder."""
    response = client.post(
        "/api/train",
        data={"base_model": "m", "max_train_steps": "10"},
        files=[
            ("files", ("../../etc/passwd.png", png_bytes(), "image/png")),
            ("files", ("..\\win.png", png_bytes(), "image/png")),
        ],
    )
    assert response.status_code == 202, response.text
    job = response.json()
    folder = Path(settings.data_dir, "jobs", job["id"], "inputs")
    stored = sorted(p.name for p in folder.iterdir())
    assert stored == sorted(job["inputs"])
    assert all("/" not in name and "\\" not in name and not name.startswith(".") for name in stored)
