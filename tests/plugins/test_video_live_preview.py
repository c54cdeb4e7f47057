"""The generate mock's live preview: small frames that sharpen towards the final one."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from myspinbot.core.telemetry_sink import MemoryTelemetry
from myspinbot_video_generate import GenerateParams, run_generation
from myspinbot_video_generate.live import LIVE_PREVIEW_SIDE
from tests.support.handlers import FakeReporter, handler_context


def distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two images, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def test_generate_sends_low_resolution_previews_that_sharpen(tmp_path: Path) -> None:
    """Every few denoising steps a small JPEG preview; each is closer to the last than the one before."""
    ctx = handler_context(tmp_path, "generate", FakeReporter())
    run_generation(ctx, GenerateParams(prompt="a red fox in the snow", seed=3, num_inference_steps=30))
    assert isinstance(ctx.telemetry, MemoryTelemetry)
    previews = [Image.open(io.BytesIO(data)) for data, kind in ctx.telemetry.previews if kind == "image/jpeg"]
    assert len(previews) == len(ctx.telemetry.previews) >= 5
    assert all(max(image.size) <= LIVE_PREVIEW_SIDE for image in previews)
    final = previews[-1]
    gaps = [distance(image, final) for image in previews[:-1]]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 3 * gaps[-1]
    assert [step for step, _ in ctx.telemetry.points][-1] == 30
