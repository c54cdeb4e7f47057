"""Forms from job-type schemas: field kinds, defaults, parsing back, file checks, and the API's errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from myspinbot_client import ApiError, FieldError, FileField, Job, JobType
from myspinbot_ui.forms import (
    FORM_ERROR,
    FieldKind,
    PickedFile,
    accepted_text,
    api_errors,
    check_files,
    collect,
    form_of,
)
from myspinbot_ui.state import JobBoard
from myspinbot_ui.views.form import JobForm, submission_status
from myspinbot_ui.views.submit import SubmitPanel


class Style(StrEnum):
    CINEMATIC = "cinematic"
    ANIME = "anime"


class Params(BaseModel):
    prompt: str = Field(..., min_length=1, max_length=2000, title="Prompt", examples=["a fox"])
    width: int = Field(832, ge=128, le=1920, multiple_of=16, description="Pixels")
    guidance: float = Field(5.0, ge=0, le=30)
    seed: int | None = Field(None, ge=0)
    resolution: Literal[512, 768, 1024] = 1024
    style: Style = Style.CINEMATIC
    loop: bool = False
    tags: list[str] = Field(default_factory=list)


def job_type(files: tuple[dict[str, object], ...] = ()) -> JobType:
    return JobType.model_validate(
        {"name": "demo", "title": "Demo", "params_schema": Params.model_json_schema(), "files": list(files)}
    )


def test_each_parameter_gets_the_field_of_its_type() -> None:
    """Text, integer, number, choice (literal or enum) and switch fields, in schema order."""
    form = form_of(job_type())
    kinds = {spec.name: spec.kind for spec in form.fields}
    assert kinds == {
        "prompt": FieldKind.TEXT,
        "width": FieldKind.INTEGER,
        "guidance": FieldKind.NUMBER,
        "seed": FieldKind.INTEGER,
        "resolution": FieldKind.CHOICE,
        "style": FieldKind.CHOICE,
        "loop": FieldKind.SWITCH,
        "tags": FieldKind.TEXT,
    }
    assert [spec.name for spec in form.fields][:3] == ["prompt", "width", "guidance"]
    prompt = form.param("prompt")
    assert prompt is not None and prompt.required and prompt.multiline and prompt.example == "a fox"
    style = form.param("style")
    assert style is not None and style.choices == ("cinematic", "anime")  # resolved through $defs


def test_defaults_are_filled_in_and_bounds_explained() -> None:
    """What a field shows at first is its default; its help line gives the bounds."""
    form = form_of(job_type())
    initial = {spec.name: spec.initial for spec in form.fields}
    assert initial == {
        "prompt": "",
        "width": "832",
        "guidance": "5",
        "seed": "",
        "resolution": "1024",
        "style": "cinematic",
        "loop": False,
        "tags": "",  # a default_factory is not in the schema: the field starts empty
    }
    width = form.param("width")
    seed = form.param("seed")
    assert width is not None and width.help == "Pixels · 128–1920"
    assert seed is not None and seed.nullable and seed.help == "≥ 0 · optional"


def test_collected_values_are_typed_and_blanks_left_to_the_api() -> None:
    """Values come back typed; empty optional fields are left out so the API applies its default."""
    form = form_of(job_type())
    values: dict[str, str | bool | None] = {spec.name: spec.initial for spec in form.fields}
    values.update(prompt="a red fox", resolution="768", loop=True, guidance="7.5", width="")
    params, errors = collect(form, values)
    assert errors == {}
    assert params == {
        "prompt": "a red fox",
        "guidance": 7.5,
        "resolution": 768,
        "style": "cinematic",
        "loop": True,
    }
    Params.model_validate(params)


def test_wrong_values_get_a_message_next_to_their_field() -> None:
    """A missing required field, a non-number and an out-of-bounds value are named."""
    form = form_of(job_type())
    params, errors = collect(form, {"prompt": " ", "width": "wide", "guidance": "99", "seed": "-1"})
    assert set(errors) == {"prompt", "width", "guidance", "seed"}
    assert errors["prompt"] == "Required"
    assert "integer" in errors["width"]
    assert "30" in errors["guidance"]
    assert "prompt" not in params


def test_api_errors_land_on_their_fields() -> None:
    """Each detail goes to the field it names (also nested names); the rest is a form message."""
    form = form_of(job_type(({"field": "init_image", "extensions": [".png"]},)))
    error = ApiError(
        422,
        "invalid_params",
        "invalid parameters: width, seed",
        [
            FieldError(field="width", message="Input should be a multiple of 16"),
            FieldError(field="body.seed", message="must be ≥ 0"),
            FieldError(field="init_image", message="not an image"),
            FieldError(field=None, message="something else"),
        ],
    )
    placed = api_errors(error, form)
    assert placed["width"] == "Input should be a multiple of 16"
    assert placed["seed"] == "Must be ≥ 0"
    assert placed["init_image"] == "Not an image"
    assert placed[FORM_ERROR] == "Something else"
    assert api_errors(ApiError(503, "store_unavailable", "Redis is down"), form) == {FORM_ERROR: "Redis is down"}


@pytest.mark.parametrize(
    ("picked", "problem"),
    [
        ([PickedFile("a.png", 10), PickedFile("a.txt", 2)], None),
        ([PickedFile("set.zip", 10)], None),
        ([PickedFile("notes.pdf", 10)], "notes.pdf is not accepted (.png, .txt or .zip)"),
        ([PickedFile("big.png", 2_000)], "big.png is 2.0 kB, over the limit of 1.0 kB"),
        ([PickedFile(f"{i}.png", 1) for i in range(4)], "At most 3 file(s), 4 picked"),
        ([], "Pick at least 1 file(s)"),
    ],
)
def test_picked_files_are_checked_before_upload(picked: list[PickedFile], problem: str | None) -> None:
    """Extensions, size and count are checked against what the job type accepts."""
    upload = FileField(
        field="files",
        extensions=(".png", ".txt"),
        archive_extensions=(".zip",),
        min_count=1,
        max_count=3,
        max_bytes=1000,
    )
    assert check_files(upload, picked) == problem


def test_accepted_extensions_read_as_a_list() -> None:
    """The hint under a picker lists what it takes."""
    assert accepted_text(FileField(field="f", extensions=(".png",))) == ".png"
    assert accepted_text(FileField(field="f")) == "any file"


def test_a_third_party_schema_needs_no_dashboard_change() -> None:
    """The example plugin's `upscale` schema (as the API sends it) becomes a working form."""
    schema = {
        "properties": {
            "factor": {"default": 2, "description": "Scale factor", "maximum": 4, "minimum": 2, "type": "integer"}
        },
        "title": "UpscaleParams",
        "type": "object",
    }
    form = form_of(JobType.model_validate({"name": "upscale", "title": "Upscale", "params_schema": schema}))
    assert [(spec.name, spec.kind, spec.initial) for spec in form.fields] == [("factor", FieldKind.INTEGER, "2")]
    assert collect(form, {"factor": "3"}) == ({"factor": 3}, {})
    assert collect(form, {"factor": "5"})[1] == {"factor": "Must be ≤ 4, got 5"}


def submitted_job(state: str, **fields: object) -> Job:
    base = {"id": "ab12cd34" + "0" * 24, "type": "demo", "state": state, "created_at": "2026-12-01T14:00:00Z"}
    return Job.model_validate({**base, **fields})


def test_the_line_beside_submit_follows_the_submitted_job_to_its_end() -> None:
    """ "Job … queued." becomes "running, 40%." and then "succeeded."; it does not stay once the job ended."""
    panel = SubmitPanel(on_submit=nothing_to_submit, on_change=lambda: None, add_service=lambda _: None)
    panel.set_job_types([job_type()])
    form = panel.form
    assert form is not None
    board = JobBoard()
    queued = submitted_job("queued")
    board.apply(queued)
    assert form.status.visible is False  # hidden while empty (Flutter's semantics, see JobForm.status)
    form.show_submitted(queued)
    assert form.status.value == "Job ab12cd34 queued." and form.status.visible
    for job, line in [
        (submitted_job("running", progress=0.4, version=2), "Job ab12cd34 running, 40%."),
        (submitted_job("succeeded", progress=1.0, version=3), "Job ab12cd34 succeeded."),
    ]:
        board.apply(job)
        panel.render(board)
        assert form.status.value == line
    failed = submitted_job("failed", error="RuntimeError: boom", version=4)
    assert submission_status(failed.id, failed) == "Job ab12cd34 failed: RuntimeError: boom"
    form.show_errors({"prompt": "required"})  # a new attempt: the old job's line goes
    panel.render(board)
    assert form.status.value == "" and form.status.visible is False


async def nothing_to_submit(_: JobForm) -> None:
    """The submit callback of a panel whose button is not pressed."""
