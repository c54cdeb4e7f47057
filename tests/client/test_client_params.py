"""`key=value` parameters and `--file` paths are typed and checked against a job type before sending."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

import myspinbot_client
from myspinbot_client import params
from myspinbot_client.models import JobType
from myspinbot_client.params import InputError, assign_files, parse_params, split_assignments


class Scheduler(StrEnum):
    DDIM = "ddim"
    EULER = "euler"


class DemoParams(BaseModel):
    prompt: str = Field(min_length=1, description="What the video shows")
    num_frames: int = Field(17, ge=1, le=121)
    guidance: float = Field(5.0, gt=0, le=20)
    width: int = Field(832, multiple_of=16)
    loop: bool = False
    scheduler: Scheduler = Scheduler.DDIM
    quality: Literal["draft", "final"] = "draft"
    seed: int | None = None
    tags: list[str] = Field(default_factory=list)
    sizes: list[int] = Field(default_factory=list)
    name: str = Field("clip", pattern=r"^[a-z]+$")


def demo_type(files: list[dict[str, object]] | None = None) -> JobType:
    """A job type as the API lists it, with the schema pydantic makes for `DemoParams`."""
    return JobType.model_validate(
        {"name": "demo", "params_schema": DemoParams.model_json_schema(), "files": files or []}
    )


def parse(*items: str) -> dict[str, object]:
    return parse_params(demo_type(), split_assignments(items))


def test_values_are_typed_by_the_schema() -> None:
    """Integers, numbers, booleans, strings, enums, literals, nullable and list fields get their JSON types."""
    params = parse(
        "prompt=a red fox",
        "num_frames=17",
        "guidance=7.5",
        "loop=yes",
        "scheduler=euler",
        "quality=final",
        "seed=null",
        "tags=fox, red",
        "sizes=[1, 2]",
    )
    assert params == {
        "prompt": "a red fox",
        "num_frames": 17,
        "guidance": 7.5,
        "loop": True,
        "scheduler": "euler",
        "quality": "final",
        "seed": None,
        "tags": ["fox", "red"],
        "sizes": [1, 2],
    }


def test_a_string_that_looks_like_a_number_stays_a_string() -> None:
    """A string field keeps its text even when it reads as a number or a boolean."""
    assert parse("prompt=17")["prompt"] == "17"
    assert parse("prompt=true")["prompt"] == "true"


@pytest.mark.parametrize(
    ("item", "field", "words"),
    [
        ("num_frames=abc", "num_frames", "expected an integer, got 'abc'"),
        ("num_frames=17.5", "num_frames", "expected an integer"),
        ("num_frames=500", "num_frames", "≤ 121"),
        ("guidance=0", "guidance", "> 0"),
        ("guidance=nan", "guidance", "finite"),
        ("width=100", "width", "multiple of 16"),
        ("loop=maybe", "loop", "expected true or false"),
        ("scheduler=karras", "scheduler", '"ddim", "euler"'),
        ("seed=soon", "seed", "expected an integer"),
        ("sizes=1,x", "sizes", "expected an integer"),
        ("name=Clip9", "name", "must match"),
        ("prompt=", "prompt", "at least 1 characters"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(item: str, field: str, words: str) -> None:
    """A value of the wrong type or out of bounds raises InputError naming the field and the problem."""
    items = [item] if item.startswith("prompt=") else ["prompt=x", item]
    with pytest.raises(InputError) as caught:
        parse(*items)
    assert caught.value.field == field
    assert words in caught.value.message


def test_an_unknown_key_is_refused_listing_the_known_ones() -> None:
    """A typo'd parameter is refused by name, with the parameters the job type takes."""
    with pytest.raises(InputError) as caught:
        parse("prompt=x", "num_frame=17")
    assert caught.value.field == "num_frame"
    assert "num_frames" in caught.value.message


def test_a_missing_required_parameter_is_refused_with_its_description() -> None:
    """Leaving out a required parameter names it and says what it is for."""
    with pytest.raises(InputError) as caught:
        parse("num_frames=17")
    assert caught.value.field == "prompt"
    assert "What the video shows" in caught.value.message


def test_assignments_split_on_the_first_equals_sign_only() -> None:
    """`key=a=b` keeps `a=b` as the value; an item without `=` or a repeated key is refused."""
    assert split_assignments(["prompt=a=b", "seed=1"]) == {"prompt": "a=b", "seed": "1"}
    with pytest.raises(InputError, match="expected key=value"):
        split_assignments(["prompt"])
    with pytest.raises(InputError, match="given twice"):
        split_assignments(["seed=1", "seed=2"])


TRAIN_FILES: list[dict[str, object]] = [
    {"field": "files", "extensions": [".png", ".txt"], "archive_extensions": [".zip"], "min_count": 1, "max_count": 2},
    {"field": "init_image", "extensions": [".png"], "max_count": 1, "max_bytes": 10},
]


def make_files(tmp_path: Path, *names: str, size: int = 4) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(b"x" * size)
        paths.append(str(path))
    return paths


def test_files_go_under_the_first_field_unless_one_is_named(tmp_path: Path) -> None:
    """A bare PATH goes under the first declared field; FIELD=PATH under the named one."""
    cat, dog = make_files(tmp_path, "cat.png", "dog.png")
    uploads = assign_files(demo_type(TRAIN_FILES), [cat, f"init_image={dog}"])
    assert uploads == {"files": [Path(cat)], "init_image": [Path(dog)]}


@pytest.mark.parametrize(
    ("names", "field", "words"),
    [
        (["cat.gif"], "files", "not an accepted file (accepts .png, .txt, .zip)"),
        (["a.png", "b.png", "c.png"], "files", "at most 2 file(s), got 3"),
        ([], "files", "needs at least 1 file(s)"),
    ],
)
def test_bad_uploads_are_refused_naming_the_field(tmp_path: Path, names: list[str], field: str, words: str) -> None:
    """Wrong extensions and too many or too few files are refused before any upload."""
    with pytest.raises(InputError) as caught:
        assign_files(demo_type(TRAIN_FILES), make_files(tmp_path, *names))
    assert caught.value.field == field
    assert words in caught.value.message


def test_an_oversized_or_missing_file_is_refused(tmp_path: Path) -> None:
    """A file over the field's max_bytes, or a path that is not a file, is refused by field."""
    cat, big = make_files(tmp_path, "cat.png", "big.png", size=4)[0], make_files(tmp_path, "big.png", size=11)[0]
    with pytest.raises(InputError, match="over the limit of 10"):
        assign_files(demo_type(TRAIN_FILES), [cat, f"init_image={big}"])
    with pytest.raises(InputError, match="no such file"):
        assign_files(demo_type(TRAIN_FILES), [str(tmp_path / "nope.png")])


def test_files_for_a_job_type_without_uploads_are_refused(tmp_path: Path) -> None:
    """--file on a job type that declares no file fields says it takes no files."""
    with pytest.raises(InputError, match="takes no files"):
        assign_files(demo_type(), make_files(tmp_path, "cat.png"))


def test_the_parsing_api_is_public_and_stable() -> None:
    """`InputError` is exported with the client; `params` names what the CLI and the dashboard's forms use."""
    assert myspinbot_client.InputError is params.InputError
    assert set(params.__all__) == {"InputError", "assign_files", "parse_params", "parse_value", "split_assignments"}
