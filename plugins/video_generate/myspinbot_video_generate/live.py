"""The live preview while denoising: a small frame that sharpens from noise towards the final one."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageFilter

from myspinbot_video_generate.frames import FrameRenderer, Scene

# The preview is small on purpose (as ComfyUI's latent previews are): it is sent many times.
LIVE_PREVIEW_SIDE = 160
LIVE_PREVIEW_EVERY = 2  # denoising ticks between two previews
JPEG_QUALITY = 70


class LivePreview:
    """Renders the middle frame once, then shows it through less noise and blur as denoising goes on."""

    def __init__(self, scene: Scene, size: tuple[int, int], seed: int) -> None:
        self.final = FrameRenderer(scene, size).render(scene.num_frames // 2)
        self.size = size
        self.seed = seed

    def image_at(self, done: float) -> Image.Image:
        """The preview when `done` (0..1) of the denoising steps have run."""
        left = min(max(1.0 - done, 0.0), 1.0)
        rng = random.Random(self.seed)
        noise = Image.effect_noise(self.size, 120).convert("RGB")
        tint = Image.new("RGB", self.size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        noisy = Image.blend(tint, noise, 0.6)
        image = Image.blend(self.final, noisy, 0.85 * left**1.3)
        return image.filter(ImageFilter.GaussianBlur(5.0 * left**2))

    def at(self, done: float) -> bytes:
        """The preview as JPEG bytes, ready for `ctx.preview`."""
        buffer = io.BytesIO()
        self.image_at(done).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue()
