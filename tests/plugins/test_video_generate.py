"""Unit tests of the `generate` job type: parameters, the LoRA check, progress and the preview it writes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat
from pydantic import ValidationError

from myspinbot import Artifact, Job, JobCancelled, JobState, ParamError
from myspinbot.core.params import params_from_form
from myspinbot_video_generate import (
    GENERATE,
    GenerateParams,
    check_lora,
    encode,
    handler,
    register_job_types,
    run_generation,
)
from myspinbot_video_generate.frames import fit_size, sample_indices, wrap_text
from myspinbot_video_generate.handler import MAX_TICKS, PREVIEW_MAX_FRAMES, PREVIEW_MAX_SIDE
from tests.support.handlers import FakeReporter, handler_context

PROMPT = "a corgi surfing a giant wave at sunset"


@pytest.fixture
def no_video(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as if the optional imageio-ffmpeg extra were not installed."""
    monkeypatch.setattr(handler, "video_encoder_available", lambda: False)


def run(
    tmp_path: Path, reporter: FakeReporter | None = None, inputs: list[Path] | None = None, **params: Any
) -> tuple[dict[str, Any], FakeReporter]:
    reporter = reporter or FakeReporter()
    values = {"prompt": PROMPT, "seed": 42, **params}
    result = run_generation(
        handler_context(tmp_path, "generate", reporter, inputs), GenerateParams.model_validate(values)
    )
    return dict(result), reporter


def frame_count(image: Image.Image) -> int:
    return int(getattr(image, "n_frames", 1))


def is_animated(image: Image.Image) -> bool:
    return bool(getattr(image, "is_animated", False))


def preview_frames(path: Path) -> list[Image.Image]:
    with Image.open(path) as image:
        frames = []
        for index in range(frame_count(image)):
            image.seek(index)
            frames.append(image.convert("RGB"))
        return frames


# --- the artifacts ---


def test_preview_is_animated_with_sampled_frames(tmp_path: Path, no_video: None) -> None:
    """81 frames give a 48-frame animated preview at most 320 px wide, lasting as long as the video."""
    result, reporter = run(tmp_path, width=832, height=480, num_frames=81, fps=16)
    path = tmp_path / "artifacts" / result["preview"]
    assert result["preview"] == f"preview{encode.preview_suffix()}"
    with Image.open(path) as image:
        assert is_animated(image) and frame_count(image) == PREVIEW_MAX_FRAMES
        assert image.size == (320, 184)
        image.load()  # WebP reads a frame's duration with the frame
        assert image.info["loop"] == 0
        assert image.info["duration"] == round(1000 * 81 / 16 / 48)
    assert [name for name, _, _ in reporter.artifacts] == [result["preview"], "generation.json"]
    assert (result["frames"], result["preview_frames"], result["seed"], result["video"]) == (81, 48, 42, None)


def test_gif_preview_without_webp_support(tmp_path: Path, no_video: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Pillow built without WebP writes an animated GIF instead, with the same frames and timing."""
    monkeypatch.setattr(handler, "preview_suffix", lambda: ".gif")
    result, _ = run(tmp_path, num_frames=21, fps=10)
    assert result["preview"] == "preview.gif"
    with Image.open(tmp_path / "artifacts" / "preview.gif") as image:
        assert image.format == "GIF" and is_animated(image) and frame_count(image) == 21
        assert image.info["duration"] == 100 and image.info["loop"] == 0


def test_frames_move_and_differ(tmp_path: Path, no_video: None) -> None:
    """Consecutive preview frames differ (the counter and the moving dot), so the preview visibly plays."""
    result, _ = run(tmp_path, num_frames=9)
    frames = preview_frames(tmp_path / "artifacts" / result["preview"])
    assert len(frames) == 9
    for before, after in itertools.pairwise(frames):
        assert ImageChops.difference(before, after).getbbox() is not None


def test_short_and_tall_videos_keep_every_frame_and_the_aspect(tmp_path: Path, no_video: None) -> None:
    """Fewer frames than the cap are all kept; a portrait video gives a portrait preview."""
    result, _ = run(tmp_path, width=480, height=832, num_frames=17)
    with Image.open(tmp_path / "artifacts" / result["preview"]) as image:
        assert frame_count(image) == 17
        assert image.size == (184, 320)


def test_same_seed_same_preview(tmp_path: Path, no_video: None) -> None:
    """The seed decides the picture: two runs with one seed draw identical first frames."""
    first, _ = run(tmp_path / "a", num_frames=5, seed=3)
    second, _ = run(tmp_path / "b", num_frames=5, seed=3)
    frame_a = preview_frames(tmp_path / "a" / "artifacts" / first["preview"])[0]
    frame_b = preview_frames(tmp_path / "b" / "artifacts" / second["preview"])[0]
    assert ImageChops.difference(frame_a, frame_b).getbbox() is None


def test_missing_seed_is_chosen_and_reported(tmp_path: Path, no_video: None) -> None:
    """Without a seed the job picks one and reports it in its result and metadata."""
    result, _ = run(tmp_path, seed=None, num_frames=5)
    metadata = json.loads((tmp_path / "artifacts" / "generation.json").read_text())
    assert isinstance(result["seed"], int) and 0 <= result["seed"] < 2**32
    assert metadata["seed"] == result["seed"]


def test_init_image_is_the_background(tmp_path: Path, no_video: None) -> None:
    """An uploaded init image shows behind the overlay and switches to the image-to-video model."""
    init = tmp_path / "uploads" / "first.png"
    init.parent.mkdir(parents=True)
    Image.new("RGB", (640, 360), (0, 200, 0)).save(init)
    result, reporter = run(tmp_path, inputs=[init], num_frames=5, width=640, height=352)
    frame = preview_frames(tmp_path / "artifacts" / result["preview"])[0]
    lower_left = frame.crop((0, frame.height // 2, frame.width // 4, frame.height - 20))
    red, green, blue = ImageStat.Stat(lower_left).mean
    assert green > 150 and red < 60 and blue < 60
    assert reporter.steps[0][2] == "loading model Wan2.1-I2V-14B-480P"
    assert json.loads((tmp_path / "artifacts" / "generation.json").read_text())["init_image"] == "first.png"


def test_generation_json_describes_the_run(tmp_path: Path, no_video: None) -> None:
    """generation.json holds the parameters, the model, the seed, the LoRA and what was written."""
    run(tmp_path, num_frames=33, fps=8, lora_job_id="job-train-1", lora_scale=0.8)
    metadata = json.loads((tmp_path / "artifacts" / "generation.json").read_text())
    assert metadata["params"]["prompt"] == PROMPT and metadata["params"]["num_frames"] == 33
    assert metadata["model"] == "Wan2.1-T2V-1.3B" and metadata["seed"] == 42
    assert metadata["lora"] == {"job_id": "job-train-1", "scale": 0.8}
    assert metadata["duration_seconds"] == 33 / 8
    assert metadata["preview"]["frame_indices"] == sample_indices(33, PREVIEW_MAX_FRAMES)
    assert metadata["video"] is None


def test_writes_an_mp4_when_imageio_ffmpeg_is_installed(tmp_path: Path) -> None:
    """With the `video` extra the job also writes an H.264 MP4, capped to 832 px, every frame kept."""
    pytest.importorskip("imageio_ffmpeg")
    result, reporter = run(tmp_path, width=1280, height=720, num_frames=17, fps=8)
    path = tmp_path / "artifacts" / "video.mp4"
    assert result["video"] == "video.mp4"
    assert path.read_bytes()[4:8] == b"ftyp"
    assert ("video.mp4", "video/mp4", path.stat().st_size) in reporter.artifacts
    assert reporter.steps[-2][2] == "encoding video"
    video = json.loads((tmp_path / "artifacts" / "generation.json").read_text())["video"]
    assert (video["width"], video["height"], video["frames"]) == (832, 464, 17)


# --- progress and cancellation ---


def test_progress_counts_up_over_the_whole_job(tmp_path: Path, no_video: None) -> None:
    """Steps never go back, share one total, end at it, and walk through every stage in order."""
    _, reporter = run(tmp_path, num_inference_steps=30, num_frames=17, lora_job_id="job-train-1")
    steps = [step for step, _, _ in reporter.steps]
    totals = {total for _, total, _ in reporter.steps}
    assert steps == sorted(steps) and len(totals) == 1
    assert steps[-1] == totals.pop() == MAX_TICKS + 4
    messages = [message for _, _, message in reporter.steps]
    assert messages[:2] == ["loading model Wan2.1-T2V-1.3B + LoRA job-train-1 ×1", "encoding prompt"]
    assert messages[2] == "denoising 2/30" and messages[MAX_TICKS + 1] == "denoising 30/30"
    assert messages[-3:] == ["decoding 17 frames", "encoding preview", "generated 17 frames"]


def test_few_steps_give_one_tick_each(tmp_path: Path, no_video: None) -> None:
    """Three inference steps show as three ticks."""
    _, reporter = run(tmp_path, num_inference_steps=3, num_frames=1)
    assert [message for _, _, message in reporter.steps if message.startswith("denoising")] == [
        "denoising 1/3",
        "denoising 2/3",
        "denoising 3/3",
    ]


def test_cancel_raises_and_publishes_nothing(tmp_path: Path, no_video: None) -> None:
    """A cancel seen at a progress call raises JobCancelled before any artifact is published."""
    reporter = FakeReporter(cancel_after=3)
    with pytest.raises(JobCancelled):
        run(tmp_path, reporter=reporter)
    assert len(reporter.steps) == 4 and reporter.artifacts == []


# --- parameters ---


def errors_for(**values: Any) -> dict[str, tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        GenerateParams.model_validate({"prompt": PROMPT, **values})
    return {".".join(map(str, error["loc"])): (error["type"], error["msg"]) for error in caught.value.errors()}


def test_params_defaults() -> None:
    """Wan-style defaults: 832×480, 81 frames at 16 fps, 30 steps, guidance 5."""
    params = GenerateParams(prompt=PROMPT)
    assert (params.width, params.height, params.num_frames, params.fps) == (832, 480, 81, 16)
    assert (params.num_inference_steps, params.guidance_scale, params.seed, params.lora_job_id) == (30, 5.0, None, None)


def test_num_frames_must_be_four_k_plus_one() -> None:
    """80 frames is refused with a message that says what would do."""
    kind, message = errors_for(num_frames=80)["num_frames"]
    assert kind == "value_error"
    assert "num_frames must be 4k+1, e.g. 17, 33, 81; the nearest are 77 and 81" in message
    assert GenerateParams(prompt=PROMPT, num_frames=1).num_frames == 1


@pytest.mark.parametrize(
    ("values", "location", "kind"),
    [
        ({"width": 840}, "width", "multiple_of"),
        ({"height": 481}, "height", "multiple_of"),
        ({"width": 112}, "width", "greater_than_equal"),
        ({"height": 1936}, "height", "less_than_equal"),
        ({"num_frames": 245}, "num_frames", "less_than_equal"),
        ({"fps": 0}, "fps", "greater_than_equal"),
        ({"num_inference_steps": 151}, "num_inference_steps", "less_than_equal"),
        ({"guidance_scale": 31}, "guidance_scale", "less_than_equal"),
        ({"lora_scale": 2.5}, "lora_scale", "less_than_equal"),
        ({"seed": -1}, "seed", "greater_than_equal"),
        ({"prompt": "  "}, "prompt", "string_too_short"),
        ({"prompt": "x" * 2001}, "prompt", "string_too_long"),
        ({"num_frame": 17}, "num_frame", "extra_forbidden"),
    ],
)
def test_params_reject_bad_values_naming_the_field(values: dict[str, Any], location: str, kind: str) -> None:
    """Each bad value fails on its own field, unknown fields included."""
    errors = errors_for(**values)
    assert list(errors) == [location] and errors[location][0] == kind


def test_blank_form_fields_mean_not_given() -> None:
    """Multipart sends empty strings for empty inputs: the kernel reads a blank seed or LoRA id as
    not given, and "640" as the integer the schema asks for."""
    params = params_from_form(GenerateParams, {"prompt": PROMPT, "seed": "", "lora_job_id": " ", "width": "640"})
    assert (params.seed, params.lora_job_id, params.width) == (None, None, 640)


def test_params_schema_documents_every_field() -> None:
    """The JSON schema has a title and description per field, and the 16-pixel grid."""
    schema = GenerateParams.model_json_schema()
    assert schema["required"] == ["prompt"] and schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("title") and prop.get("description"), name
    assert schema["properties"]["width"]["multipleOf"] == 16
    assert "4k+1" in schema["properties"]["num_frames"]["description"]


# --- the LoRA check ---


@dataclass
class FakeJobs:
    """An in-memory JobReader."""

    jobs: dict[str, Job]

    async def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


def job(job_id: str, job_type: str, state: JobState, lora: bool = True) -> Job:
    artifacts = [Artifact(name="lora.safetensors", content_type="application/octet-stream", size=10, url="/x")]
    return Job(
        id=job_id,
        type=job_type,
        state=state,
        created_at="2025-01-01T00:00:00.000Z",
        artifacts=artifacts if lora else [],
    )


READER = FakeJobs(
    {
        "done": job("done", "train", JobState.SUCCEEDED),
        "running": job("running", "train", JobState.RUNNING),
        "failed": job("failed", "train", JobState.FAILED),
        "video": job("video", "generate", JobState.SUCCEEDED),
        "empty": job("empty", "train", JobState.SUCCEEDED, lora=False),
    }
)


async def test_check_accepts_a_succeeded_train_job_or_none() -> None:
    """No LoRA, or the id of a train job that succeeded with a .safetensors, passes."""
    await check_lora(GenerateParams(prompt=PROMPT), READER)
    await check_lora(GenerateParams(prompt=PROMPT, lora_job_id="done"), READER)


@pytest.mark.parametrize(
    ("job_id", "expected"),
    [
        ("nope", "no job 'nope' exists"),
        ("video", "is a 'generate' job"),
        ("running", "is running; its LoRA can be used once it has succeeded"),
        ("failed", "is failed"),
        ("empty", "has no .safetensors artifact"),
    ],
)
async def test_check_rejects_unusable_lora_jobs(job_id: str, expected: str) -> None:
    """Missing jobs, other job types, unfinished or failed trains are refused on lora_job_id."""
    with pytest.raises(ParamError) as caught:
        await check_lora(GenerateParams(prompt=PROMPT, lora_job_id=job_id), READER)
    assert caught.value.field == "lora_job_id" and expected in caught.value.message


# --- helpers and registration ---


def test_wrap_text_fits_and_truncates() -> None:
    """Lines fit the width, long words are cut, and overflow ends with an ellipsis."""
    from PIL import ImageFont

    font = ImageFont.load_default(size=12)
    lines = wrap_text("word " * 50 + "x" * 80, font, 100, max_lines=4)
    assert len(lines) == 4 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 100 for line in lines)
    assert "".join(wrap_text("y" * 80, font, 100, max_lines=20)) == "y" * 80


def test_sizes_and_sampling() -> None:
    """Sizes keep the aspect within the cap on the requested grid; samples include first and last frame."""
    assert fit_size(1920, 1080, PREVIEW_MAX_SIDE) == (320, 180)
    assert fit_size(1280, 720, 832, multiple=16) == (832, 464)
    assert fit_size(128, 128, 320) == (128, 128)
    assert sample_indices(241, 48)[0] == 0 and sample_indices(241, 48)[-1] == 240
    assert sample_indices(5, 48) == [0, 1, 2, 3, 4] and sample_indices(1, 48) == [0]


def test_registers_the_generate_job_type() -> None:
    """The hook declares `generate` with its alias, its optional init image and the LoRA check."""
    (job_type,) = register_job_types()
    assert job_type is GENERATE
    assert (job_type.name, job_type.queue, job_type.route) == ("generate", "generate", "/api/generate")
    assert job_type.check is check_lora and job_type.params is GenerateParams
    spec = job_type.file_spec("init_image")
    assert spec is not None and (spec.min_count, spec.max_count) == (0, 1)
    assert spec.accepts("a.webp") and not spec.accepts("a.zip")


def test_installed_through_the_entry_point() -> None:
    """The distribution registers itself in the `myspinbot` entry-point group, as a third party would."""
    (entry,) = [ep for ep in entry_points(group="myspinbot") if ep.name == "video_generate"]
    assert entry.value == "myspinbot_video_generate"
    assert entry.dist is not None and entry.dist.name == "myspinbot-video-generate"
