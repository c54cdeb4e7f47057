"""Writing frames out: an animated preview (Pillow) and, when imageio-ffmpeg is installed, an MP4."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image, features

# Browsers play frame delays under 20 ms as 100 ms, so a fast preview would crawl.
MIN_FRAME_MS = 20
WEBP_QUALITY = 75


def preview_frame_ms(num_frames: int, fps: int, preview_frames: int) -> int:
    """Per-frame delay that makes the preview last as long as the video it samples."""
    return max(MIN_FRAME_MS, round(1000 * num_frames / fps / max(1, preview_frames)))


def preview_suffix() -> str:
    """The preview's format: WebP (about a tenth of a GIF's size here) when Pillow can write it, else GIF."""
    return ".webp" if features.check("webp") else ".gif"


def write_preview(path: Path, frames: list[Image.Image], frame_ms: int) -> None:
    """An animated WebP or GIF (by `path`'s suffix) that loops forever."""
    if not frames:
        raise ValueError("a preview needs at least one frame")
    partial = path.with_name(path.name + ".partial")
    first, *rest = frames
    options: dict[str, Any] = {"quality": WEBP_QUALITY, "method": 4} if path.suffix == ".webp" else {}
    image_format = "WEBP" if path.suffix == ".webp" else "GIF"
    first.save(partial, format=image_format, save_all=True, append_images=rest, duration=frame_ms, loop=0, **options)
    partial.replace(path)


def _ffmpeg() -> Any | None:
    try:
        module = importlib.import_module("imageio_ffmpeg")
        module.get_ffmpeg_exe()  # raises when the wheel has no binary for this platform
    except (ImportError, RuntimeError):
        return None
    return module


def video_encoder_available() -> bool:
    """Whether an MP4 can be written (the optional extra `myspinbot-video-generate[video]`)."""
    return _ffmpeg() is not None


def write_mp4(path: Path, frames: Iterable[Image.Image], size: tuple[int, int], fps: int) -> None:
    """An H.264 MP4 (yuv420p, fast start) from RGB frames of `size`, both sides multiples of 16."""
    ffmpeg = _ffmpeg()
    if ffmpeg is None:
        raise RuntimeError("writing MP4 needs imageio-ffmpeg: pip install 'myspinbot-video-generate[video]'")
    partial = path.with_name(path.name + ".partial.mp4")
    writer = ffmpeg.write_frames(
        str(partial),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        macro_block_size=16,
        ffmpeg_log_level="error",
        output_params=["-movflags", "+faststart"],
    )
    writer.send(None)
    try:
        for frame in frames:
            if frame.size != size:
                raise ValueError(f"frame of size {frame.size} in a {size} video")
            writer.send(frame.tobytes())
    finally:
        writer.close()
    partial.replace(path)
