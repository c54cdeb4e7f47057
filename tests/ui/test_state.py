"""The job board: version-aware updates, ordering, filters, paging and the resume point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from myspinbot_client import Job, JobEvent, JobPage, JobState
from myspinbot_ui.state import JobBoard, JobFilter, is_newer

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def job(job_id: str = "a", *, version: int = 1, state: str = "queued", minutes: int = 0, **extra: Any) -> Job:
    data = {
        "id": job_id,
        "type": extra.pop("type", "generate"),
        "state": state,
        "version": version,
        "created_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }
    return Job.model_validate(data)


def event(event_id: str, item: Job, name: str = "job.progress") -> JobEvent:
    return JobEvent(id=event_id, event=name, job=item)


def test_a_newer_version_replaces_the_job() -> None:
    """A later version of a job is taken; the board's revision moves."""
    board = JobBoard()
    board.apply(job(version=1))
    before = board.revision
    assert board.apply(job(version=2, state="running", step=1, total=4))
    assert board.get("a") is not None and board.get("a").state is JobState.RUNNING  # type: ignore[union-attr]
    assert board.revision > before


def test_an_event_older_than_the_snapshot_is_ignored() -> None:
    """An event that arrives after a snapshot already holding a later version changes nothing."""
    board = JobBoard()
    board.apply(job(version=5, state="succeeded", progress=1.0))
    assert not board.apply_event(event("10-0", job(version=3, state="running", progress=0.4)))
    assert not board.apply_event(event("11-0", job(version=5, state="succeeded", progress=1.0)))
    assert board.get("a").state is JobState.SUCCEEDED  # type: ignore[union-attr]


def test_when_versions_do_not_tell_a_finished_job_never_goes_back() -> None:
    """With equal versions (an API that does not count them), a finished job never turns back into an active one."""
    done = job(version=0, state="cancelled")
    assert not is_newer(job(version=0, state="running"), done)
    assert is_newer(job(version=0, state="failed", error="x"), job(version=0, state="running"))


def test_the_resume_point_only_moves_forward() -> None:
    """Replayed events after a reconnection do not move the last event id back."""
    board = JobBoard()
    board.apply_event(event("1700000000005-0", job(version=2)))
    board.apply_event(event("1700000000003-1", job(version=1)))
    board.apply_event(JobEvent(event="snapshot", job=job(version=3)))
    assert board.last_event_id == "1700000000005-0"
    board.apply_event(event("1700000000005-1", job(version=4)))
    assert board.last_event_id == "1700000000005-1"


def test_the_first_hello_is_the_resume_point_until_an_event_comes() -> None:
    """The first watch's hello gives the board its stream position; later hellos do not move it."""
    board = JobBoard()
    assert not board.streaming
    board.stream_connected("1700000000001-0")
    assert board.streaming and board.last_event_id == "1700000000001-0"
    board.stream_connected("1700000000009-0")  # a reconnection: events up to here are still to be replayed
    assert board.last_event_id == "1700000000001-0"
    board.apply_event(event("1700000000002-0", job(version=2)))
    assert board.last_event_id == "1700000000002-0"


def test_raw_frames_apply_snapshots_and_events() -> None:
    """`snapshot` and `event` frames update the board; hello, pong and unknown frames do not."""
    board = JobBoard()
    snapshot = {"type": "snapshot", "jobs": [job("a").to_json(), job("b", minutes=1).to_json()]}
    assert board.apply_frame(snapshot)
    assert board.apply_frame(
        {"type": "event", "id": "9-0", "event": "job.started", "job": job("a", version=2).to_json()}
    )
    for frame in ({"type": "hello", "last_event_id": "9-0"}, {"type": "pong"}, {"type": "whatever"}):
        assert not board.apply_frame(frame)
    assert len(board) == 2 and board.last_event_id == "9-0"


def test_jobs_are_listed_newest_first_and_filtered() -> None:
    """Newest first; a filter keeps one state and/or one job type."""
    board = JobBoard()
    board.apply_all(
        [
            job("old", minutes=0, state="succeeded"),
            job("new", minutes=5, state="running", type="train"),
            job("mid", minutes=2, state="failed"),
        ]
    )
    assert [item.id for item in board.jobs()] == ["new", "mid", "old"]
    assert [item.id for item in board.jobs(JobFilter(state=JobState.FAILED))] == ["mid"]
    assert [item.id for item in board.jobs(JobFilter(job_type="generate"))] == ["mid", "old"]
    assert [item.id for item in board.jobs(JobFilter(JobState.RUNNING, "generate"))] == []
    assert [item.id for item in board.active()] == ["new"]
    assert board.counts()[JobState.FAILED] == 1
    assert board.job_types() == ["generate", "train"]


def test_pages_are_tracked_per_filter() -> None:
    """Each filter remembers whether its first page was read and where older jobs continue."""
    board = JobBoard()
    failed = JobFilter(state=JobState.FAILED)
    assert board.page_cursor(failed).has_more and not board.page_cursor(failed).loaded
    board.add_page(failed, JobPage(jobs=[job("x", state="failed")], next_cursor="c2"))
    assert board.page_cursor(failed).loaded and board.page_cursor(failed).next_cursor == "c2"
    board.add_page(failed, JobPage(jobs=[job("y", state="failed", minutes=-1)], next_cursor=None))
    assert not board.page_cursor(failed).has_more
    assert not board.page_cursor(JobFilter()).loaded
    assert [item.id for item in board.jobs(failed)] == ["x", "y"]
    board.forget_pages()
    assert not board.page_cursor(failed).loaded
