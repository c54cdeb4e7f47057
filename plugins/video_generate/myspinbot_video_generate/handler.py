"""`run_generation`: the mock video model, stage by stage, ending in a real animated preview (and MP4)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from myspinbot import JobContext
from myspinbot_video_generate.encode import (
    preview_frame_ms,
    preview_suffix,
    video_encoder_available,
    write_mp4,
    write_preview,
)
from myspinbot_video_generate.frames import FrameRenderer, Scene, fit_size, load_background, sample_indices
from myspinbot_video_generate.live import LIVE_PREVIEW_EVERY, LIVE_PREVIEW_SIDE, LivePreview
from myspinbot_video_generate.params import GenerateParams

# However many denoising steps a job asks for, the mock shows at most this many of them.
MAX_TICKS = 20
# The preview samples at most this many frames, at most this many pixels on its long side.
PREVIEW_MAX_FRAMES = 48
PREVIEW_MAX_SIDE = 320
# The mock MP4 is a draft: at most this wide or tall (the default 832×480 is kept as is).
VIDEO_MAX_SIDE = 832
PREVIEW_STEM = "preview"
VIDEO_NAME = "video.mp4"
METADATA_NAME = "generation.json"
TEXT_TO_VIDEO_MODEL = "Wan2.1-T2V-1.3B"
IMAGE_TO_VIDEO_MODEL = "Wan2.1-I2V-14B-480P"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def denoise_ticks(steps: int, max_ticks: int = MAX_TICKS) -> list[int]:
    """At most `max_ticks` denoising steps, evenly spread, strictly increasing, ending at `steps`."""
    ticks = max(1, min(max_ticks, steps))
    return [(steps * index + ticks // 2) // ticks for index in range(1, ticks + 1)]


def _init_image(inputs: list[Path]) -> Path | None:
    return next((path for path in inputs if path.suffix.lower() in IMAGE_SUFFIXES), None)


def run_generation(ctx: JobContext, params: GenerateParams) -> dict[str, Any]:
    """Load, encode the prompt, denoise, decode, encode; progress counts over the whole job."""
    seed = params.seed if params.seed is not None else secrets.randbelow(2**32)
    init_image = _init_image(ctx.inputs)
    model = IMAGE_TO_VIDEO_MODEL if init_image else TEXT_TO_VIDEO_MODEL
    with_video = video_encoder_available()
    ticks = denoise_ticks(params.num_inference_steps)
    total = len(ticks) + 4 + int(with_video)  # load, encode prompt, ticks, decode, preview, [video]
    done = 0

    def stage(message: str) -> None:
        nonlocal done
        ctx.progress(done, total, message)
        ctx.sleep(ctx.step_seconds)
        done += 1

    lora = f" + LoRA {params.lora_job_id} ×{params.lora_scale:g}" if params.lora_job_id else ""
    stage(f"loading model {model}{lora}")
    stage("encoding prompt")
    scene = Scene(params.prompt, seed, params.num_frames, load_background(init_image) if init_image else None)
    live = LivePreview(scene, fit_size(params.width, params.height, LIVE_PREVIEW_SIDE), seed)
    for index, step in enumerate(ticks):
        if index % LIVE_PREVIEW_EVERY == 0 or step == ticks[-1]:
            ctx.preview(live.at(step / params.num_inference_steps))
        ctx.metric(step, denoise_progress=step / params.num_inference_steps)
        stage(f"denoising {step}/{params.num_inference_steps}")
    stage(f"decoding {params.num_frames} frames")

    preview_size = fit_size(params.width, params.height, PREVIEW_MAX_SIDE)
    preview_renderer = FrameRenderer(scene, preview_size)
    indices = sample_indices(params.num_frames, PREVIEW_MAX_FRAMES)
    preview_frames = [preview_renderer.render(index) for index in indices]
    frame_ms = preview_frame_ms(params.num_frames, params.fps, len(preview_frames))

    stage("encoding preview")
    preview_path = ctx.workdir / f"{PREVIEW_STEM}{preview_suffix()}"
    write_preview(preview_path, preview_frames, frame_ms)

    video: dict[str, Any] | None = None
    if with_video:
        stage("encoding video")
        video_size = fit_size(params.width, params.height, VIDEO_MAX_SIDE, multiple=16)
        video_renderer = FrameRenderer(scene, video_size)
        frames = (video_renderer.render(index) for index in range(params.num_frames))
        write_mp4(ctx.workdir / VIDEO_NAME, frames, video_size, params.fps)
        video = {"file": VIDEO_NAME, "width": video_size[0], "height": video_size[1], "frames": params.num_frames}
    else:
        ctx.log.info("no MP4: imageio-ffmpeg is not installed (extra 'myspinbot-video-generate[video]')")

    metadata = {
        "job_id": ctx.job_id,
        "model": model,
        "mock": True,
        "params": params.model_dump(mode="json"),
        "seed": seed,
        "duration_seconds": params.duration_seconds,
        "init_image": init_image.name if init_image else None,
        "lora": {"job_id": params.lora_job_id, "scale": params.lora_scale} if params.lora_job_id else None,
        "preview": {
            "file": preview_path.name,
            "width": preview_size[0],
            "height": preview_size[1],
            "frames": len(preview_frames),
            "frame_indices": indices,
            "frame_ms": frame_ms,
        },
        "video": video,
    }
    metadata_path = ctx.workdir / METADATA_NAME
    metadata_path.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    ctx.add_artifact(preview_path)
    if video is not None:
        ctx.add_artifact(ctx.workdir / VIDEO_NAME)
    ctx.add_artifact(metadata_path)
    ctx.progress(total, total, f"generated {params.num_frames} frames")
    return {
        "preview": preview_path.name,
        "video": VIDEO_NAME if video is not None else None,
        "frames": params.num_frames,
        "preview_frames": len(preview_frames),
        "seed": seed,
        "duration_seconds": round(params.duration_seconds, 3),
    }
