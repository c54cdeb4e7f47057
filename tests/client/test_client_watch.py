"""The watch protocol: resume after the last event, never repeat one, never go back, end when finished."""

from __future__ import annotations

from typing import Any

import pytest

from myspinbot_client import ApiError
from myspinbot_client.errors import error_from_response
from myspinbot_client.models import Job
from myspinbot_client.watch import Backoff, WatchSession, is_after, is_retryable, job_ids_of

JOB = "a" * 32


def job(step: int, state: str = "running", version: int | None = None, job_id: str = JOB) -> dict[str, Any]:
    body: dict[str, Any] = {"id": job_id, "type": "sleepy", "state": state, "step": step, "total": 5}
    body["created_at"] = "2026-01-01T00:00:00.000Z"
    body["version"] = step + 2 if version is None else version
    return body


def event(stream_id: str, step: int, state: str = "running", name: str = "job.progress") -> dict[str, Any]:
    return {"type": "event", "id": stream_id, "event": name, "job": job(step, state)}


def hello(last_event_id: str | None) -> dict[str, Any]:
    return {"type": "hello", "server_time": "2026-01-01T00:00:00Z", "last_event_id": last_event_id}


def feed(session: WatchSession, *frames: dict[str, Any]) -> list[tuple[str | None, int]]:
    out = []
    for frame in frames:
        out += [(item.id, item.job.step) for item in session.receive(frame)]
    return out


def test_a_reconnection_resumes_after_the_last_event_and_skips_replayed_ones() -> None:
    """After a drop, the query carries the last event id and events replayed twice are yielded once."""
    session = WatchSession([JOB])
    session.connected()
    assert feed(session, hello("5-0"), event("6-0", 1), event("7-0", 2)) == [("6-0", 1), ("7-0", 2)]
    assert session.query() == {"jobs": JOB, "last_event_id": "7-0"}
    session.connected()
    replay = feed(session, hello("9-0"), event("6-0", 1), event("7-0", 2), event("8-0", 3), event("9-0", 4))
    assert replay == [("8-0", 3), ("9-0", 4)]


def test_the_first_hello_is_the_resume_point_before_any_event() -> None:
    """A drop before any event resumes from the id the server greeted with, so nothing in between is lost."""
    session = WatchSession(None)
    session.connected()
    feed(session, hello("41-3"))
    assert session.query() == {"last_event_id": "41-3"}
    fresh = WatchSession(None)
    fresh.connected()
    feed(fresh, hello(None))
    assert fresh.query() == {"last_event_id": "0-0"}


def test_each_connection_keeps_its_hello_id_for_the_connect_hook() -> None:
    """Each connection keeps its hello id (none given: the start of the stream) until the next connection."""
    session = WatchSession(None, last_event_id="3-0")
    session.connected()
    assert session.hello_id is None
    feed(session, hello("7-0"))
    assert session.hello_id == "7-0" and session.query() == {"last_event_id": "3-0"}
    session.connected()
    assert session.hello_id is None
    feed(session, hello(None))
    assert session.hello_id == "0-0"


def test_stream_ids_compare_as_numbers() -> None:
    """Stream ids order by (milliseconds, sequence), not as text."""
    assert is_after("10-0", "9-5")
    assert is_after("9-10", "9-9")
    assert not is_after("9-9", "9-9")
    assert is_after("9-0", None)


def test_a_state_older_than_one_already_shown_is_dropped() -> None:
    """A snapshot or an in-flight event older than a state read with `get` never moves the job back."""
    session = WatchSession([JOB])
    session.connected()
    feed(session, hello("5-0"))
    current = session.observe(Job.model_validate(job(3)))
    assert current is not None and current.is_snapshot
    assert feed(session, {"type": "snapshot", "jobs": [job(2)]}) == []
    assert feed(session, event("6-0", 2), event("7-0", 4)) == [("7-0", 4)]
    assert session.observe(Job.model_validate(job(4))) is None


def test_trimmed_events_fall_back_to_the_snapshot_and_the_new_position() -> None:
    """When the resume point was trimmed, the snapshot is yielded and the next resume is from the new hello."""
    session = WatchSession([JOB], last_event_id="1-0")
    session.connected()
    trimmed = {"type": "error", "error": {"status": 410, "code": "events_trimmed", "message": "gone"}}
    got = feed(session, hello("90-0"), trimmed, {"type": "snapshot", "jobs": [job(3)]})
    assert got == [(None, 3)]
    assert session.trimmed == 1
    assert session.query()["last_event_id"] == "90-0"


def test_jobs_missing_from_the_snapshot_after_a_lost_resume_are_read_again() -> None:
    """After a trimmed resume, a job last seen active but absent from the (active-only) snapshot
    is handed back to be read again, once; finished or present jobs are not."""
    other, done = "b" * 32, "c" * 32
    session = WatchSession(None)
    session.connected()
    feed(
        session,
        hello("10-0"),
        event("11-0", 2),
        {"type": "event", "id": "12-0", "event": "job.progress", "job": job(1, job_id=other)},
        {"type": "event", "id": "13-0", "event": "job.succeeded", "job": job(5, "succeeded", job_id=done)},
    )
    assert session.take_stale() == []
    session.connected()
    trimmed = {"type": "error", "error": {"status": 410, "code": "events_trimmed", "message": "gone"}}
    feed(session, hello("90-0"), trimmed, {"type": "snapshot", "jobs": [job(4, job_id=other)]})
    assert session.take_stale() == [JOB]
    assert session.take_stale() == []
    assert session.observe(Job.model_validate(job(5, "succeeded"))) is not None


def test_an_error_frame_raises_an_api_error_that_says_whether_to_retry() -> None:
    """An unauthorized frame is final; a store outage is worth reconnecting for."""
    session = WatchSession(None)
    with pytest.raises(ApiError) as unauthorized:
        session.receive({"type": "error", "error": {"status": 401, "code": "unauthorized", "message": "token"}})
    assert unauthorized.value.code == "unauthorized" and not is_retryable(unauthorized.value)
    with pytest.raises(ApiError) as outage:
        session.receive({"type": "error", "error": {"status": 503, "code": "store_unavailable", "message": "x"}})
    assert is_retryable(outage.value)


def test_a_proxys_404_is_retried_only_once_a_connection_has_worked() -> None:
    """Traefik's plain-text 404 while no API replica runs is worth retrying on a reconnect; on a first
    connection it means a wrong URL; the API's own 404s (with a code) are never retried."""
    proxy_404 = error_from_response(404, b"404 page not found", "Not Found")
    assert proxy_404.code == "http_404"
    assert is_retryable(proxy_404, reconnecting=True)
    assert not is_retryable(proxy_404)
    api_404 = error_from_response(404, b'{"error": {"status": 404, "code": "job_not_found", "message": "no job"}}')
    assert not is_retryable(api_404, reconnecting=True)


def test_watching_given_jobs_ends_when_all_are_finished() -> None:
    """A watch of two jobs is done only once both reached an end state; a watch of every job never is."""
    other = "b" * 32
    session = WatchSession([JOB, other])
    session.connected()
    feed(session, hello("1-0"), {"type": "snapshot", "jobs": [job(5, "succeeded"), job(0, "queued", job_id=other)]})
    assert not session.done
    finished = {"type": "event", "id": "2-0", "event": "job.cancelled", "job": job(1, "cancelled", 9, other)}
    feed(session, finished)
    assert session.done
    everything = WatchSession(None)
    feed(everything, hello("1-0"), event("2-0", 5, "succeeded", "job.succeeded"))
    assert not everything.done


def test_events_of_other_jobs_and_unknown_frames_are_ignored() -> None:
    """Frames for jobs not watched, pongs and frame types added later yield nothing."""
    session = WatchSession([JOB])
    stray = {"type": "event", "id": "3-0", "event": "job.progress", "job": job(1, job_id="c" * 32)}
    assert feed(session, hello("1-0"), stray, {"type": "pong"}, {"type": "subscribed", "jobs": "*"}, {}) == []


def test_job_ids_are_normalised() -> None:
    """One id, several, repeats and None (every job) all become a tuple of unique ids or None."""
    assert job_ids_of("x") == ("x",)
    assert job_ids_of(["x", "y", "x", ""]) == ("x", "y")
    assert job_ids_of(None) is None
    assert job_ids_of([]) is None


def test_backoff_doubles_up_to_a_cap_and_gives_up_after_its_window() -> None:
    """Reconnection delays grow to the cap, restart after a reset, and stop once the window is over."""
    now = [0.0]
    backoff = Backoff(first=0.2, cap=1.0, give_up_after=10.0, clock=lambda: now[0])
    delays = [backoff.next_delay() or 0.0 for _ in range(5)]
    caps = [0.2, 0.4, 0.8, 1.0, 1.0]
    assert all(0.8 * cap <= delay <= cap for delay, cap in zip(delays, caps, strict=True))
    backoff.reset()
    assert (backoff.next_delay() or 1) <= 0.2
    now[0] = 10.0
    assert backoff.next_delay() is None
