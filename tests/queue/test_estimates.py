"""Start estimates and the broker's list layout, as pure functions."""

from __future__ import annotations

from myspinbot.core.queueing import Priority, RunningJob, estimate_starts
from myspinbot.worker.wire import KOMBU_PRIORITY, PRIORITY_STEPS, broker_lists, held_queue, sub_queue


def test_free_slots_start_at_once_then_jobs_wait_for_the_soonest_slot() -> None:
    """Two slots, one running with 30 s left: the first waiting job starts now, the next in 30 s,
    the third when the first waiting one ends."""
    starts = estimate_starts(["train"] * 3, [RunningJob("train", 30.0)], 2, {"train": 100.0})
    assert starts == [0.0, 30.0, 100.0]


def test_a_running_job_without_an_eta_counts_a_typical_run() -> None:
    """No ETA yet (no progress reported): the running job is assumed to take a typical run."""
    assert estimate_starts(["a"], [RunningJob("a", None)], 1, {"a": 40.0}) == [40.0]


def test_each_job_ahead_counts_with_its_own_type() -> None:
    """Jobs of two types on one queue: each adds its own typical duration."""
    assert estimate_starts(["a", "b", "a"], [], 1, {"a": 10.0, "b": 60.0}) == [0.0, 10.0, 70.0]


def test_nothing_is_estimated_without_workers_or_durations() -> None:
    """No worker serves the queue, or nothing ran yet: unknown rather than wrong."""
    assert estimate_starts(["a", "a"], [], 0, {"a": 10.0}) == [None, None]
    assert estimate_starts(["a", "a"], [], 1, {}) == [0.0, None]


def test_priorities_map_onto_kombus_steps_in_the_order_workers_read_them() -> None:
    """high is read first (step 0, the queue itself); every list of a queue is counted for depth."""
    assert [KOMBU_PRIORITY[p] for p in (Priority.HIGH, Priority.NORMAL, Priority.LOW)] == [0, 3, 6]
    assert sub_queue("train", 0) == "train" and sub_queue("train", 3) == "train\x06\x163"
    lists = broker_lists("train")
    assert len(lists) == 2 * len(PRIORITY_STEPS) and held_queue("train", 0) in lists
