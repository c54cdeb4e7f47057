"""Drawing the mock video's frames with Pillow: the prompt, a frame counter and something that moves."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# An init image is shrunk to this before use, so a huge upload costs little per frame.
MAX_BACKGROUND_SIDE = 1024
ZOOM = 0.12


@dataclass(frozen=True)
class Scene:
    """What every frame shows, whatever its size."""

    prompt: str
    seed: int
    num_frames: int
    background: Image.Image | None = None


def load_background(path: Path) -> Image.Image:
    """An uploaded init image, upright, RGB and at most MAX_BACKGROUND_SIDE on its long side."""
    with Image.open(path) as image:
        image.draft("RGB", (MAX_BACKGROUND_SIDE, MAX_BACKGROUND_SIDE))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((MAX_BACKGROUND_SIDE, MAX_BACKGROUND_SIDE))
    return upright


def fit_size(width: int, height: int, max_side: int, multiple: int = 2) -> tuple[int, int]:
    """(width, height) scaled down so the long side is at most `max_side`, rounded to `multiple`."""
    scale = min(1.0, max_side / max(width, height))

    def snap(value: int) -> int:
        return max(multiple, round(value * scale / multiple) * multiple)

    return snap(width), snap(height)


def wrap_text(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to `max_width` pixels; words too long are cut, overflow ends in '…'."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _gradient(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A horizontal gradient twice as wide as the frame through seeded colours, so it can scroll."""
    width, height = size
    stops = [tuple(rng.randrange(30, 200) for _ in range(3)) for _ in range(3)]
    stops.append(stops[0])  # wraps around so the scroll has no seam
    strip = Image.new("RGB", (len(stops), 1))
    for index, colour in enumerate(stops):
        strip.putpixel((index, 0), colour)
    return strip.resize((width * 2, height), Image.Resampling.BILINEAR)


class FrameRenderer:
    """Draws frame i of a scene at one size; everything that does not move is prepared once."""

    def __init__(self, scene: Scene, size: tuple[int, int]) -> None:
        self.scene = scene
        self.size = size
        height = size[1]
        rng = random.Random(scene.seed)
        self.phase = rng.uniform(0, 2 * math.pi)
        self.dot_colour = tuple(rng.randrange(180, 256) for _ in range(3))
        self.backdrop = scene.background.copy() if scene.background is not None else _gradient(size, rng)
        self.font = ImageFont.load_default(size=max(9, height // 16))
        self.small_font = ImageFont.load_default(size=max(8, height // 22))
        self.caption = self._caption_overlay()

    def _caption_overlay(self) -> Image.Image:
        width, height = self.size
        margin = max(4, width // 40)
        line_height = int(self.font.getbbox("Hg")[3]) + max(2, height // 120)
        max_lines = max(1, int(height * 0.45) // line_height)
        lines = wrap_text(self.scene.prompt, self.font, width - 4 * margin, max_lines)
        overlay = Image.new("RGBA", self.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        box_bottom = margin * 2 + line_height * len(lines)
        draw.rectangle((margin, margin, width - margin, box_bottom), fill=(0, 0, 0, 150))
        for index, line in enumerate(lines):
            draw.text((margin * 2, margin + margin // 2 + index * line_height), line, font=self.font, fill="white")
        return overlay

    def _background(self, t: float) -> Image.Image:
        width, height = self.size
        if self.scene.background is None:
            offset = round(t * width)
            return self.backdrop.crop((offset, 0, offset + width, height))
        # A slow push-in on the init image, as image-to-video models tend to do.
        source_width, source_height = self.backdrop.size
        zoom = 1.0 + ZOOM * t
        box_width = source_width / zoom
        box_height = source_height / zoom
        left = (source_width - box_width) / 2
        top = (source_height - box_height) / 2
        crop = self.backdrop.crop((round(left), round(top), round(left + box_width), round(top + box_height)))
        return ImageOps.fit(crop, self.size, Image.Resampling.BILINEAR)

    def render(self, index: int) -> Image.Image:
        """Frame `index` (0-based) of the scene, RGB."""
        total = self.scene.num_frames
        t = index / (total - 1) if total > 1 else 0.0
        width, height = self.size
        frame = self._background(t).convert("RGBA")
        frame.alpha_composite(self.caption)
        draw = ImageDraw.Draw(frame)
        angle = self.phase + 2 * math.pi * t
        radius = max(3, min(width, height) // 14)
        centre_x = width / 2 + math.cos(angle) * width * 0.3
        centre_y = height * 0.62 + math.sin(angle) * height * 0.18
        draw.ellipse(
            (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius),
            fill=(*self.dot_colour, 255),
            outline=(0, 0, 0, 255),
        )
        bar_height = max(2, height // 60)
        draw.rectangle((0, height - bar_height, round(width * (index + 1) / total), height), fill=(255, 255, 255, 220))
        label = f"frame {index + 1}/{total} · seed {self.scene.seed}"
        label_top = height - bar_height - 3 - self.small_font.getbbox(label)[3]
        draw.text((max(4, width // 40), label_top), label, font=self.small_font, fill="white")
        return frame.convert("RGB")


def sample_indices(num_frames: int, count: int) -> list[int]:
    """`count` frame indices spread evenly over `num_frames`, first and last included."""
    if count >= num_frames:
        return list(range(num_frames))
    if count <= 1:
        return [0]
    return [round(i * (num_frames - 1) / (count - 1)) for i in range(count)]
