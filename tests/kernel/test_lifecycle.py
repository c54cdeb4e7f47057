"""Lifecycle decision tables: monotonic progress and the allowed state transitions (pure functions)."""

from __future__ import annotations

import pytest

from myspinbot import JobState
from myspinbot.core import lifecycle
from myspinbot.core.jobs import FINISHED_STATES
from tests.support.job_harness import (
    DELIVERY,
    Harness,
)

# --- lifecycle: monotonic progress and state transitions ---


@pytest.mark.parametrize(
    ("before", "step", "total", "after"),
    [
        (0.0, 1, 4, 0.25),  # a first step
        (0.25, 2, 4, 0.5),  # forward
        (0.5, 1, 4, 0.5),  # a step back (a restarted attempt) never lowers progress
        (0.5, 1, 10, 0.5),  # a new stage with more steps neither
        (0.9, 9, 4, 1.0),  # past the total caps at 1
    ],
)
def test_progress_only_rises(before: float, step: int, total: int, after: float) -> None:
    """`advance` keeps the highest progress seen, capped at 1, whatever the step says."""
    job = Harness().job(JobState.RUNNING, progress=before)
    assert lifecycle.advance(job, step, total, "m").progress == after


@pytest.mark.parametrize(
    ("state", "allowed"),
    [(JobState.QUEUED, True), (JobState.RUNNING, True)] + [(state, False) for state in FINISHED_STATES],
)
def test_only_unfinished_jobs_start(state: JobState, allowed: bool) -> None:
    """A queued or (re-delivered) running job may start; a finished one may not."""
    job = Harness().job(state)
    if allowed:
        started = lifecycle.start(job, DELIVERY)
        assert (started.state, started.attempts) == (JobState.RUNNING, job.attempts + 1)
    else:
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.start(job, DELIVERY)


@pytest.mark.parametrize("final", sorted(FINISHED_STATES))
def test_a_finished_job_never_finishes_again(final: JobState) -> None:
    """Finishing is only from queued or running, and only into a final state."""
    finished = Harness().job(final)
    for state in FINISHED_STATES:
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.finish(finished, state)
    with pytest.raises(lifecycle.InvalidTransition):
        lifecycle.finish(Harness().job(JobState.RUNNING), JobState.QUEUED)
