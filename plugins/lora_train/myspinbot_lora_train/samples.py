"""Procedural sample images: what a mock LoRA "renders" for a prompt at a step.

They need not be beautiful; they must differ by prompt (palette and layout come from the prompt
and its seed) and by step (a noisy blur early in the run that settles into crisp shapes), so a
sample grid shows a run converging.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SAMPLE_SIDE = 192
SHAPES = 7


def _palette(prompt: str, seed: int) -> list[tuple[int, int, int]]:
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).digest()
    return [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 3 * (SHAPES + 1), 3)]


def render_sample(prompt: str, seed: int, step: int, total_steps: int, side: int = SAMPLE_SIDE) -> Image.Image:
    """The sample of `prompt` (with `seed`) at `step` of `total_steps`: sharper as training goes on."""
    done = min(max(step / max(total_steps, 1), 0.0), 1.0)
    colours = _palette(prompt, seed)
    layout = random.Random(f"{prompt}|{seed}")
    image = Image.new("RGB", (side, side), colours[0])
    draw = ImageDraw.Draw(image)
    for index in range(SHAPES):
        # Shapes drift into place over the run: early samples are scattered, late ones settle.
        x, y = layout.uniform(0.1, 0.9) * side, layout.uniform(0.1, 0.9) * side
        jitter = random.Random(seed * 7919 + step * 31 + index)
        spread = (1.0 - done) * side * 0.25
        x += jitter.uniform(-spread, spread)
        y += jitter.uniform(-spread, spread)
        radius = layout.uniform(0.08, 0.22) * side
        box = (x - radius, y - radius, x + radius, y + radius)
        if index % 2:
            draw.ellipse(box, fill=colours[index + 1])
        else:
            draw.rectangle(box, fill=colours[index + 1])
    noise = Image.effect_noise((side, side), 90 * (1.0 - done) + 4).convert("RGB")
    image = Image.blend(image, noise, 0.55 * (1.0 - done) ** 1.5)
    image = image.filter(ImageFilter.GaussianBlur(6.0 * (1.0 - done) ** 2))
    ImageDraw.Draw(image).text((6, side - 16), f"step {step}", fill=(255, 255, 255))
    return image


def write_sample(path: Path, prompt: str, seed: int, step: int, total_steps: int) -> Path:
    """Render one sample to a PNG file; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    render_sample(prompt, seed, step, total_steps).save(path, format="PNG", optimize=False)
    return path
