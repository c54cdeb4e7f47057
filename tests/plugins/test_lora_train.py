"""Unit tests of the `train` job type: parameters, dataset checks, progress and the .safetensors it writes."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import struct
import zipfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError

from myspinbot import JobCancelled, ParamError
from myspinbot.core.params import params_from_form, params_from_json
from myspinbot_lora_train import TRAIN, TrainParams, register_job_types, run_training
from myspinbot_lora_train.dataset import UnsafeArchiveError, check_inputs, extract_zip
from myspinbot_lora_train.handler import MAX_TICKS
from myspinbot_lora_train.simulation import learning_rate_at, tick_steps
from tests.support.handlers import FakeReporter, handler_context

DTYPE_FORMATS = {"F32": "f", "F16": "e"}
DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def write_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (200, 80, 40)).save(path)
    return path


def make_dataset(folder: Path, count: int = 3, captions: bool = True) -> list[Path]:
    paths = []
    for index in range(count):
        paths.append(write_image(folder / f"img{index}.png"))
        if captions:
            caption = folder / f"img{index}.txt"
            caption.write_text(f"sks dog, photo, angle {index}", encoding="utf-8")
            paths.append(caption)
    return paths


def read_safetensors(path: Path) -> tuple[dict[str, Any], bytes]:
    """Parse a .safetensors file by the spec: u64 header length, JSON header, data section."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    return header, raw[8 + header_len :]


def decode(dtype: str, data: bytes) -> list[float]:
    count = len(data) // DTYPE_SIZES[dtype]
    if dtype == "BF16":
        halves = struct.unpack(f"<{count}H", data)
        return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}I", *(half << 16 for half in halves))))
    return list(struct.unpack(f"<{count}{DTYPE_FORMATS[dtype]}", data))


def run(tmp_path: Path, reporter: FakeReporter | None = None, **params: Any) -> tuple[dict[str, Any], FakeReporter]:
    reporter = reporter or FakeReporter()
    ctx = handler_context(tmp_path, "train", reporter, make_dataset(tmp_path / "uploads"))
    values = {"base_model": "stabilityai/stable-diffusion-xl-base-1.0", "seed": 7, **params}
    result = run_training(ctx, TrainParams.model_validate(values))
    return dict(result), reporter


# --- the artifact ---


def test_lora_file_is_valid_safetensors(tmp_path: Path) -> None:
    """The LoRA parses back: offsets tile the data section exactly; dtypes, shapes and metadata agree."""
    result, reporter = run(tmp_path, output_name="my_dog", network_dim=8)
    path = tmp_path / "artifacts" / "my_dog.safetensors"
    assert result["lora_file"] == "my_dog.safetensors"
    assert [name for name, _, _ in reporter.artifacts] == ["my_dog.safetensors", "training_log.json"]
    assert reporter.artifacts[0][2] == path.stat().st_size

    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    assert header_len % 8 == 0
    header, data = read_safetensors(path)
    metadata = header.pop("__metadata__")
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(end == next_begin for (_, end), (next_begin, _) in itertools.pairwise(spans))
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        assert entry["dtype"] == "BF16"
        assert end - begin == DTYPE_SIZES["BF16"] * math.prod(entry["shape"]), name

    downs = [name for name in header if name.endswith(".lora_down.weight")]
    assert downs and all(name.startswith(("lora_unet_", "lora_te_")) for name in downs)
    for down in downs:
        module = down.removesuffix(".lora_down.weight")
        assert header[down]["shape"] == [8, 64]
        assert header[f"{module}.lora_up.weight"]["shape"] == [64, 8]
        alpha = header[f"{module}.alpha"]
        assert alpha["shape"] == []
        assert decode("BF16", data[alpha["data_offsets"][0] : alpha["data_offsets"][1]]) == [4.0]

    assert all(isinstance(value, str) for value in metadata.values())
    assert metadata["ss_network_dim"] == "8"
    assert metadata["ss_network_alpha"] == "4.0"
    assert metadata["ss_sd_model_name"] == "stabilityai/stable-diffusion-xl-base-1.0"
    assert metadata["ss_resolution"] == "(1024, 1024)"
    assert metadata["ss_max_train_steps"] == "1600"
    assert metadata["ss_num_train_images"] == "3"
    assert metadata["ss_seed"] == "7"
    assert metadata["sshs_model_hash"] == hashlib.sha256(data).hexdigest()
    assert json.loads(metadata["ss_tag_frequency"])["dataset"]["sks dog"] == 3


@pytest.mark.parametrize(("precision", "dtype"), [("no", "F32"), ("fp16", "F16"), ("bf16", "BF16")])
def test_saved_dtype_follows_mixed_precision(tmp_path: Path, precision: str, dtype: str) -> None:
    """Weights are saved in the training precision, and values survive the encoding."""
    run(tmp_path, mixed_precision=precision, network_dim=6, network_alpha=3.5)
    header, data = read_safetensors(tmp_path / "artifacts" / "lora.safetensors")
    header.pop("__metadata__")
    assert {entry["dtype"] for entry in header.values()} == {dtype}
    alphas = [entry for name, entry in header.items() if name.endswith(".alpha")]
    for entry in alphas:
        begin, end = entry["data_offsets"]
        assert decode(dtype, data[begin:end]) == [3.5]


def test_training_log_holds_a_falling_loss_curve(tmp_path: Path) -> None:
    """training_log.json lists one point per tick, loss never rising, with the scheduler's learning rate."""
    result, _ = run(tmp_path, max_train_steps=400, lr_scheduler="cosine", learning_rate=2e-4)
    log = json.loads((tmp_path / "artifacts" / "training_log.json").read_text())
    losses = [point["loss"] for point in log["loss"]]
    assert [point["step"] for point in log["loss"]] == tick_steps(400, MAX_TICKS)
    assert losses == sorted(losses, reverse=True) and losses[0] > losses[-1]
    assert log["loss"][-1]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert log["final_loss"] == pytest.approx(result["final_loss"], abs=1e-4)
    assert result["steps"] == 400 and result["seed"] == 7


# --- progress and cancellation ---


def test_progress_counts_up_over_the_whole_job(tmp_path: Path) -> None:
    """Steps never go back, share one total, end at it, and walk through every stage in order."""
    _, reporter = run(tmp_path, output_name="dog")
    steps = [step for step, _, _ in reporter.steps]
    totals = {total for _, total, _ in reporter.steps}
    assert steps == sorted(steps) and len(totals) == 1
    assert steps[-1] == totals.pop() == MAX_TICKS + 3
    messages = [message for _, _, message in reporter.steps]
    assert messages[0] == "loading base model stabilityai/stable-diffusion-xl-base-1.0"
    assert messages[1] == "caching latents (3 images)"
    assert messages[2].startswith("step 80/1600 · loss ")
    assert messages[MAX_TICKS + 1].startswith("step 1600/1600 · loss ")
    assert messages[-2:] == ["saving dog.safetensors", "saved dog.safetensors"]


def test_few_steps_give_one_tick_each(tmp_path: Path) -> None:
    """A short run shows every optimizer step; a long one is sampled to at most MAX_TICKS ticks."""
    _, reporter = run(tmp_path, max_train_steps=5)
    assert [m.split(" · ")[0] for _, _, m in reporter.steps[2:7]] == [f"step {s}/5" for s in range(1, 6)]
    assert tick_steps(100_000, MAX_TICKS)[-1] == 100_000 and len(tick_steps(100_000, MAX_TICKS)) == MAX_TICKS


def test_each_stage_waits_one_mock_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job sleeps MYSPINBOT_MOCK_STEP_SECONDS once per stage or tick, so its length is predictable."""
    reporter = FakeReporter()
    ctx = handler_context(tmp_path, "train", reporter, make_dataset(tmp_path / "uploads"), step_seconds=0.25)
    waits: list[float] = []
    monkeypatch.setattr(ctx, "sleep", waits.append)
    run_training(ctx, TrainParams(base_model="sdxl", max_train_steps=10))
    assert waits == [0.25] * (10 + 3)


def test_epochs_win_over_max_train_steps(tmp_path: Path) -> None:
    """With epochs set, steps = epochs × ceil(images / batch size), whatever max_train_steps says."""
    result, _ = run(tmp_path, epochs=5, train_batch_size=2, max_train_steps=9999)
    assert result["steps"] == 5 * 2


def test_cancel_stops_the_job_before_it_saves(tmp_path: Path) -> None:
    """A cancel seen at a progress call raises JobCancelled and no LoRA is published."""
    reporter = FakeReporter(cancel_after=4)
    with pytest.raises(JobCancelled):
        run(tmp_path, reporter=reporter)
    assert len(reporter.steps) == 5
    assert reporter.artifacts == []


# --- datasets ---


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def png_bytes(tmp_path: Path) -> bytes:
    return write_image(tmp_path / "scratch" / "one.png").read_bytes()


def test_zip_dataset_is_extracted_and_paired(tmp_path: Path) -> None:
    """A zip's images and captions (in sub-folders too) are used; folders and macOS litter are skipped."""
    png = png_bytes(tmp_path)
    archive = make_zip(
        tmp_path / "dataset.zip",
        {
            "set/": b"",
            "set/a.png": png,
            "set/a.txt": b"red square, flat",
            "set/more/b.jpg": Image.new("RGB", (4, 4)).tobytes(),
            "__MACOSX/set/._a.png": b"junk",
            "set/.DS_Store": b"junk",
        },
    )
    reporter = FakeReporter()
    result = run_training(handler_context(tmp_path, "train", reporter, [archive]), TrainParams(base_model="sd15"))
    assert result is not None and result["images"] == 2
    assert reporter.steps[1][2] == "caching latents (2 images)"
    dataset_dir = tmp_path / "work" / "dataset"
    extracted = sorted(path.relative_to(dataset_dir).as_posix() for path in dataset_dir.rglob("*") if path.is_file())
    assert extracted == ["set/a.png", "set/a.txt", "set/more/b.jpg"]
    header, _ = read_safetensors(tmp_path / "artifacts" / "lora.safetensors")
    assert json.loads(header["__metadata__"]["ss_tag_frequency"]) == {"dataset": {"red square": 1, "flat": 1}}


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "set/../../evil.png", "C:/evil.png", "..\\evil.png"])
def test_extract_zip_refuses_names_that_escape(tmp_path: Path, name: str) -> None:
    """Members with absolute paths, drive letters or '..' are refused and nothing lands outside."""
    archive = make_zip(tmp_path / "bad.zip", {name: b"x"})
    with pytest.raises(UnsafeArchiveError):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "evil.png").exists()


def test_extract_zip_stops_at_the_size_budget(tmp_path: Path) -> None:
    """A zip that expands past the budget is refused, counting real bytes."""
    archive = make_zip(tmp_path / "big.zip", {"a.png": b"\0" * 5000})
    with pytest.raises(UnsafeArchiveError, match="more than 1000 bytes"):
        extract_zip(archive, tmp_path / "out", max_bytes=1000)


# --- inputs_check ---


def field_error(paths: list[Path]) -> ParamError:
    with pytest.raises(ParamError) as caught:
        check_inputs(paths)
    assert caught.value.field == "files"
    return caught.value


def test_inputs_check_accepts_images_with_or_without_captions(tmp_path: Path) -> None:
    """Images alone, or images with same-named captions, pass."""
    check_inputs(make_dataset(tmp_path / "a", captions=True))
    check_inputs(make_dataset(tmp_path / "b", captions=False))


def test_inputs_check_requires_an_image(tmp_path: Path) -> None:
    """Captions alone are rejected: at least one image is required."""
    caption = tmp_path / "a.txt"
    caption.write_text("x")
    assert "at least one image" in field_error([caption]).message


def test_inputs_check_rejects_a_caption_without_its_image(tmp_path: Path) -> None:
    """A caption whose image is missing is named in the error."""
    paths = [write_image(tmp_path / "cat.png"), tmp_path / "dog.txt"]
    paths[1].write_text("a dog")
    assert "'dog.txt' has no image of the same name" in field_error(paths).message


def test_inputs_check_wants_a_zip_alone(tmp_path: Path) -> None:
    """A zip must be the only file; alone and holding images it passes."""
    archive = make_zip(tmp_path / "set.zip", {"a.png": png_bytes(tmp_path), "a.txt": b"cap"})
    check_inputs([archive])
    assert "must be the only file" in field_error([archive, write_image(tmp_path / "x.png")]).message


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"a.txt": b"only a caption"}, "at least one image"),
        ({"a.png": b"img", "b.txt": b"orphan"}, "'b.txt' has no image"),
        ({"../a.png": b"img"}, "points outside the archive"),
    ],
)
def test_inputs_check_looks_inside_the_zip(tmp_path: Path, members: dict[str, bytes], expected: str) -> None:
    """The same rules hold for a zip's members, and unsafe member names are refused up front."""
    assert expected in field_error([make_zip(tmp_path / "set.zip", members)]).message


def test_inputs_check_rejects_a_broken_zip(tmp_path: Path) -> None:
    """A file named .zip that is not one is rejected with its name."""
    fake = tmp_path / "set.zip"
    fake.write_bytes(b"not a zip")
    assert "set.zip is not a readable .zip" in field_error([fake]).message


# --- parameters ---


def errors_for(**values: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        TrainParams.model_validate({"base_model": "sdxl", **values})
    return {".".join(map(str, error["loc"])): error["type"] for error in caught.value.errors()}


def test_params_defaults_and_alpha() -> None:
    """Defaults are sensible and network_alpha defaults to network_dim / 2."""
    params = TrainParams(base_model="sdxl")
    assert (params.resolution, params.network_dim, params.network_alpha) == (1024, 16, 8.0)
    assert (params.learning_rate, params.max_train_steps, params.epochs) == (1e-4, 1600, None)
    assert (params.optimizer, params.lr_scheduler, params.mixed_precision) == ("AdamW8bit", "constant", "bf16")
    assert TrainParams(base_model="sdxl", network_dim=32).network_alpha == 16.0
    assert TrainParams(base_model="sdxl", network_dim=32, network_alpha=1).network_alpha == 1.0


@pytest.mark.parametrize(
    ("values", "location", "kind"),
    [
        ({"network_dim": 0}, "network_dim", "greater_than_equal"),
        ({"network_dim": 257}, "network_dim", "less_than_equal"),
        ({"learning_rate": 0}, "learning_rate", "greater_than"),
        ({"learning_rate": 2}, "learning_rate", "less_than_equal"),
        ({"max_train_steps": 100_001}, "max_train_steps", "less_than_equal"),
        ({"train_batch_size": 65}, "train_batch_size", "less_than_equal"),
        ({"resolution": 640}, "resolution", "literal_error"),
        ({"optimizer": "SGD"}, "optimizer", "literal_error"),
        ({"lr_scheduler": "polynomial"}, "lr_scheduler", "literal_error"),
        ({"mixed_precision": "fp8"}, "mixed_precision", "literal_error"),
        ({"output_name": "../etc/passwd"}, "output_name", "string_pattern_mismatch"),
        ({"seed": -1}, "seed", "greater_than_equal"),
        ({"base_model": "   "}, "base_model", "string_too_short"),
        ({"netwrok_dim": 8}, "netwrok_dim", "extra_forbidden"),
    ],
)
def test_params_reject_bad_values_naming_the_field(values: dict[str, Any], location: str, kind: str) -> None:
    """Each bad value fails on its own field, unknown fields included."""
    assert errors_for(**values) == {location: kind}


def test_params_accept_form_text_and_strip_the_suffix() -> None:
    """Multipart sends text, which the kernel types by the schema: "768" is a resolution there, but
    not in JSON, where types are exact; output_name "x.safetensors" means "x"."""
    form = {"base_model": "sdxl", "resolution": "768", "output_name": "x.safetensors"}
    params = params_from_form(TrainParams, form)
    assert params.resolution == 768 and params.lora_filename == "x.safetensors"
    with pytest.raises(ValidationError) as refused:
        params_from_json(TrainParams, json.dumps(form))
    assert [error["loc"] for error in refused.value.errors()] == [("resolution",)]


def test_params_schema_documents_every_field() -> None:
    """The JSON schema (the API docs and dashboard form) has a title and description per field and enums."""
    schema = TrainParams.model_json_schema()
    assert schema["required"] == ["base_model"]
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("title") and prop.get("description"), name
    assert schema["properties"]["resolution"]["enum"] == [512, 768, 1024]
    assert "Prodigy" in schema["properties"]["optimizer"]["enum"]
    assert schema["properties"]["network_dim"]["maximum"] == 256


def test_scheduler_shapes() -> None:
    """Warm-up ramps up, linear and cosine fall to zero, restarts climb back."""

    def lr(scheduler: str, step: int) -> float:
        return learning_rate_at(TrainParams(base_model="m", lr_scheduler=scheduler), step, 100)

    assert lr("constant", 50) == 1e-4
    assert lr("constant_with_warmup", 5) == pytest.approx(5e-5) and lr("constant_with_warmup", 50) == 1e-4
    assert lr("linear", 100) == 0 and lr("cosine", 50) == pytest.approx(5e-5)
    assert lr("cosine_with_restarts", 34) > lr("cosine_with_restarts", 32)


# --- registration ---


def test_registers_the_train_job_type() -> None:
    """The hook declares `train` with its alias, its files and the inputs check."""
    (job_type,) = register_job_types()
    assert job_type is TRAIN
    assert (job_type.name, job_type.queue, job_type.route) == ("train", "train", "/api/train")
    assert job_type.inputs_check is check_inputs and job_type.params is TrainParams
    spec = job_type.file_spec("files")
    assert spec is not None and spec.min_count == 1 and spec.archive_extensions == (".zip",)
    assert spec.accepts("a.PNG") and spec.accepts("a.txt") and spec.accepts("set.zip") and not spec.accepts("a.exe")


def test_installed_through_the_entry_point() -> None:
    """The distribution registers itself in the `myspinbot` entry-point group, as a third party would."""
    (entry,) = [ep for ep in entry_points(group="myspinbot") if ep.name == "lora_train"]
    assert entry.value == "myspinbot_lora_train"
    assert entry.dist is not None and entry.dist.name == "myspinbot-lora-train"
