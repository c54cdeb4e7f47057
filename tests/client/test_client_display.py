"""Progress is shown as plain lines in pipes, JSON lines for machines, and live bars on a terminal."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from myspinbot_client.display import (
    JsonLinesView,
    PlainLinesView,
    format_eta,
    format_size,
    outcome_text,
    progress_text,
)
from myspinbot_client.live_bars import LiveBarView
from myspinbot_client.models import SNAPSHOT, Job, JobEvent

JOB = "f" * 32


def job(**fields: Any) -> Job:
    base: dict[str, Any] = {"id": JOB, "type": "generate", "state": "running", "step": 0, "total": 25}
    base["created_at"] = "2026-01-01T00:00:00.000Z"
    return Job.model_validate({**base, **fields})


def event(name: str = "job.progress", stream_id: str | None = "1-0", **fields: Any) -> JobEvent:
    return JobEvent(id=stream_id, event=name, job=job(**fields))


def test_progress_text_has_state_steps_percent_message_and_eta() -> None:
    """A running job reads like "running 3/25 12% denoising ETA 4s"; a failed one shows its error."""
    running = job(step=3, progress=0.12, message="denoising", eta_seconds=4.2)
    assert progress_text(running) == "running 3/25 12% denoising ETA 4s"
    failed = job(state="failed", step=1, total=2, progress=0.5, message="failed", error="RuntimeError: boom")
    assert progress_text(failed) == "failed 1/2 50% error: RuntimeError: boom"
    assert outcome_text(failed) == "failed: RuntimeError: boom"


def test_plain_lines_print_each_change_once() -> None:
    """A repeated state (a snapshot after a reconnection) prints nothing; each new step prints one line."""
    out = io.StringIO()
    view = PlainLinesView(out)
    view.show(event(step=1, progress=0.04, message="step 1"))
    view.show(JobEvent(event=SNAPSHOT, job=job(step=1, progress=0.04, message="step 1")))
    view.show(event("job.succeeded", "2-0", state="succeeded", step=25, progress=1.0, message="done"))
    assert out.getvalue().splitlines() == [
        f"{JOB} generate running 1/25 4% step 1",
        f"{JOB} generate succeeded 25/25 100% done",
    ]


def test_json_lines_carry_every_event_as_the_ws_frame_shape() -> None:
    """Each event prints one JSON object with id, event and the full job, snapshots included."""
    out = io.StringIO()
    view = JsonLinesView(out)
    view.show(JobEvent(event=SNAPSHOT, job=job(step=1)))
    view.show(event(step=2))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["id"], line["event"], line["job"]["step"]) for line in lines] == [
        (None, "snapshot", 1),
        ("1-0", "job.progress", 2),
    ]


def test_the_live_bar_shows_step_total_eta_and_message() -> None:
    """On a terminal the bar line carries the job, its percent, step/total, ETA and message."""
    out = io.StringIO()
    view = LiveBarView(Console(file=out, force_terminal=True, width=120, color_system=None))
    view.show(event(step=7, progress=0.28, message="denoising 9/30", eta_seconds=65))
    view.close()
    screen = out.getvalue()
    for words in (f"generate {JOB}", "28%", "7/25", "ETA 1m05s", "denoising 9/30"):
        assert words in screen


GREEN, GREY, MAGENTA = "\x1b[32m", "\x1b[90m", "\x1b[35m"
BAR = "━"


def bar_colours(screen: str) -> set[str]:
    """The SGR colour codes that start runs of bar characters in the last frame drawn on a screen."""
    last_frame = screen.rsplit("\r\x1b[2K", 1)[-1]
    return {match.group(1) for match in re.finditer(r"(\x1b\[[0-9;]*m)[━╸╺]", last_frame)}


def test_a_finished_bar_is_green_not_grey_on_a_16_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under TERM=xterm (16 colours) a finished bar is drawn green, an unfinished one magenta on grey."""
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    assert console.color_system == "standard"
    view = LiveBarView(console)
    view.show(event(state="succeeded", step=25, progress=1.0, message="done"))
    view.close()
    finished = bar_colours(out.getvalue())
    assert GREEN in finished and GREY not in finished, repr(out.getvalue())

    out = io.StringIO()
    view = LiveBarView(Console(file=out, force_terminal=True, width=120))
    view.show(event(step=12, progress=0.5, message="half"))
    view.close()
    assert {MAGENTA, GREY} <= bar_colours(out.getvalue()), repr(out.getvalue())


def test_times_and_sizes_read_well() -> None:
    """ETAs and sizes are short and human: 42s, 3m05s, 1h02m; 812 B, 1.2 kB."""
    assert [format_eta(s) for s in (None, 42, 185, 3720)] == ["", "42s", "3m05s", "1h02m"]
    assert [format_size(n) for n in (812, 1234, 3_400_000)] == ["812 B", "1.2 kB", "3.4 MB"]
