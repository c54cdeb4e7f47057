"""Metric series and their downsampling, as pure functions."""

from __future__ import annotations

import math
import random

import pytest

from myspinbot.core.telemetry import MetricPoint, build_series, clean_values, downsample, sniff_image_type


def test_downsample_keeps_first_last_minimum_and_maximum() -> None:
    """A noisy falling curve of 10,000 points shrunk to 200 keeps its ends, its minimum and its maximum."""
    rng = random.Random(7)
    steps = list(range(1, 10_001))
    values = [0.15 * math.exp(-3 * s / 10_000) + rng.gauss(0, 0.01) for s in steps]
    small_steps, small_values = downsample(steps, values, 200)
    assert len(small_steps) <= 200
    assert small_steps[0] == 1 and small_steps[-1] == 10_000
    assert small_steps == sorted(small_steps)
    assert min(small_values) == min(values) and max(small_values) == max(values)
    assert all(values[step - 1] == value for step, value in zip(small_steps, small_values, strict=True))


@pytest.mark.parametrize("max_points", [2, 3, 4, 5, 199])
def test_downsample_never_exceeds_the_bound(max_points: int) -> None:
    """Whatever the bound, at most that many points come back, and the minimum is among them."""
    values = [float((i * 37) % 101) for i in range(1000)]
    steps, kept = downsample(list(range(1000)), values, max_points)
    assert len(steps) <= max_points and min(values) in kept


def test_series_split_by_name_filtered_and_after_a_step() -> None:
    """Points carrying several names become one series per name; names and since_step filter them."""
    points = [
        MetricPoint(step=s, values={"loss": 1 / s, "lr": 0.1} if s % 2 else {"loss": 1 / s}) for s in range(1, 11)
    ]
    series = {item.name: item for item in build_series(points)}
    assert series["loss"].steps == list(range(1, 11)) and series["lr"].steps == [1, 3, 5, 7, 9]
    [only] = build_series(points, names=["lr"], since_step=4)
    assert only.name == "lr" and only.steps == [5, 7, 9] and only.points == 3


def test_clean_values_rejects_bad_names_and_types_and_skips_non_finite() -> None:
    """Metric names are checked, booleans and text refused, NaN skipped."""
    assert clean_values({"loss": 1, "val/acc": 0.5, "nan": float("nan")}) == {"loss": 1.0, "val/acc": 0.5}
    with pytest.raises(ValueError, match="metric name"):
        clean_values({"bad name": 1.0})
    with pytest.raises(ValueError, match="must be a number"):
        clean_values({"loss": True})


def test_preview_types_are_sniffed_from_bytes() -> None:
    """PNG, JPEG, WebP and GIF are recognised; anything else is not an image."""
    assert sniff_image_type(b"\x89PNG\r\n\x1a\n...") == "image/png"
    assert sniff_image_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image_type(b"<svg>") is None
