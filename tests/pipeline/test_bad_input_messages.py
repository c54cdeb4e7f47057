"""The bad input a new user plausibly sends: refused with a message that says how to fix it, nothing kept.

Each row is one request from the first hour of a new user (issue 19) with its status and the words
the answer must hold. JSON is typed exactly (no `false` or `"17"` taken as an integer); multipart
form fields are text and are typed by the parameter schema, so the same value sent as a form field
is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from tests.pipeline.test_rejections import footprint
from tests.support.jobs import png_bytes

FORM = "multipart/form-data; boundary=x"


def form_body(fields: dict[str, str]) -> bytes:
    """A multipart body of text fields only (a form without files)."""
    parts = [
        f'--x\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in fields.items()
    ]
    return ("".join(parts) + "--x--\r\n").encode()


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    """An app with a 64 KiB file limit and a 1 MiB request limit."""
    limited = settings.model_copy(update={"max_upload_bytes": 64 * 1024, "max_request_bytes": 1024 * 1024})
    with TestClient(create_app(limited)) as client:
        yield client


# (case, path, request, status, words the message or a detail must hold)
BAD_INPUTS: list[tuple[str, str, dict[str, Any], int, list[str]]] = [
    (
        "seed false in JSON",
        "/api/generate",
        {"json": {"prompt": "0", "seed": False}},
        422,
        ["seed", "valid integer", "an integer from 0 to 4294967295 or null"],
    ),
    (
        "num_frames as a JSON string",
        "/api/generate",
        {"json": {"prompt": "fox", "num_frames": "17"}},
        422,
        ["num_frames", "valid integer", "an integer from 1 to 241"],
    ),
    (
        "guidance_scale true in JSON",
        "/api/generate",
        {"json": {"prompt": "fox", "guidance_scale": True}},
        422,
        ["guidance_scale", "a number from 0 to 30"],
    ),
    (
        "resolution as a JSON string",
        "/api/train",
        {"json": {"base_model": "m", "resolution": "768"}},
        422,
        ["resolution", "one of 512, 768, 1024"],
    ),
    (
        "width=-1",
        "/api/generate",
        {"json": {"prompt": "fox", "width": -1}},
        422,
        ["width", "from 128 to 1920", "a multiple of 16"],
    ),
    (
        "width=-1 as a form field",
        "/api/generate",
        {"content": form_body({"prompt": "fox", "width": "-1"}), "headers": {"content-type": FORM}},
        422,
        ["width", "from 128 to 1920", "a multiple of 16"],
    ),
    (
        "seed=abc as a form field",
        "/api/generate",
        {"content": form_body({"prompt": "fox", "seed": "abc"}), "headers": {"content-type": FORM}},
        422,
        ["seed", "an integer from 0 to 4294967295"],
    ),
    (
        "JSON body without a Content-Type",
        "/api/generate",
        {"content": b'{"prompt": "fox"}'},
        415,
        ["send Content-Type: application/json or multipart/form-data"],
    ),
    (
        "JSON sent as curl -d sends it (urlencoded)",
        "/api/generate",
        {"content": b'{"prompt": "fox"}', "headers": {"content-type": "application/x-www-form-urlencoded"}},
        415,
        ["application/x-www-form-urlencoded", "send Content-Type: application/json or multipart/form-data"],
    ),
    (
        "a text body",
        "/api/generate",
        {"content": b"prompt=fox", "headers": {"content-type": "text/plain"}},
        415,
        ["'text/plain'", "send Content-Type: application/json or multipart/form-data"],
    ),
    (
        "an alias that does not exist",
        "/api/upscale",
        {"json": {"factor": 2}},
        404,
        ["/api/upscale", "known job types", "generate (POST /api/jobs/generate or /api/generate)", "train"],
    ),
    (
        "a request body over the limit",
        "/api/generate",
        {"content": b" " * (2 * 1024 * 1024), "headers": {"content-type": "application/json"}},
        413,
        ["2 MiB", "the limit is 1 MiB", "MYSPINBOT_MAX_REQUEST_BYTES"],
    ),
    (
        "a file over the limit",
        "/api/train",
        {"data": {"base_model": "m"}, "files": [("files", ("big.png", png_bytes() + b"\0" * 80_000, "image/png"))]},
        413,
        ["64 KiB", "MYSPINBOT_MAX_UPLOAD_BYTES", "big.png"],
    ),
]


@pytest.mark.parametrize(
    ("case", "path", "request_", "status", "words"), BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS]
)
def test_bad_input_is_refused_with_a_message_that_says_how_to_fix_it(
    small_client: TestClient,
    settings: Settings,
    case: str,
    path: str,
    request_: dict[str, Any],
    status: int,
    words: list[str],
) -> None:
    """Each bad input gets its status and a message (or detail) holding what to fix; nothing is kept."""
    before = footprint(settings)
    response = small_client.post(path, **request_)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    said = " ".join([error["message"], *(f"{d['field']}: {d['message']}" for d in error.get("details", []))])
    for word in words:
        assert word in said, f"{case}: {word!r} not in {said!r}"
    assert footprint(settings) == before


def test_form_fields_are_typed_by_the_schema(client: TestClient) -> None:
    """The values refused in JSON are accepted as multipart text and stored with the schema's types."""
    fields = {"prompt": "fox", "num_frames": "17", "seed": "7", "guidance_scale": "4.5", "lora_job_id": ""}
    response = client.post("/api/generate", content=form_body(fields), headers={"content-type": FORM})
    assert response.status_code == 202, response.text
    params = response.json()["params"]
    assert (params["num_frames"], params["seed"], params["guidance_scale"], params["lora_job_id"]) == (17, 7, 4.5, None)


def test_a_bare_post_takes_every_default(client: TestClient) -> None:
    """A POST without a body or a content type is a job with default parameters, not a 415."""
    response = client.post("/api/jobs/sleepy")
    assert response.status_code == 202, response.text
