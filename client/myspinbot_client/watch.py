"""The protocol of watching jobs over /ws, apart from any socket: resume point, dedup, end, backoff.

`WatchSession` holds what a watch has seen across reconnections. The sync and async clients
feed it the frames they read and yield what it returns; after a dropped connection they
reconnect to `session.query()`, which asks the gateway to replay every event after the last
one seen, so no event is lost, and the session drops anything it already yielded, so none is
repeated.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from websockets.exceptions import InvalidStatus

from myspinbot_client.errors import ApiError, ApiUnavailable, error_from_body, error_from_response
from myspinbot_client.frames import ErrorFrame, EventFrame, HelloFrame, SnapshotFrame, parse_frame
from myspinbot_client.models import SNAPSHOT, Job, JobEvent, JobState

EVENTS_TRIMMED = "events_trimmed"
START_OF_STREAM = "0-0"
WATCHED_FRAMES = frozenset({"hello", "snapshot", "event", "error"})


class WatchTimeoutError(TimeoutError):
    """The watched jobs did not finish within the watch's timeout."""


def job_ids_of(jobs: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Job ids to watch from one id, several, or None (every job)."""
    if jobs is None:
        return None
    ids = (jobs,) if isinstance(jobs, str) else tuple(jobs)
    return tuple(dict.fromkeys(job_id for job_id in ids if job_id)) or None


def stream_id_key(stream_id: str) -> tuple[int, int] | None:
    """A Redis stream id ("<ms>-<seq>") as a sortable pair, or None if it is not one."""
    ms, _, seq = stream_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return None


def is_after(stream_id: str, cursor: str | None) -> bool:
    """Whether `stream_id` comes after `cursor` in the stream (unknown formats: unless equal)."""
    if cursor is None:
        return True
    key, cursor_key = stream_id_key(stream_id), stream_id_key(cursor)
    if key is None or cursor_key is None:
        return stream_id != cursor
    return key > cursor_key


def is_retryable(error: ApiError, *, reconnecting: bool = False) -> bool:
    """Whether reconnecting may help: no answer, a server-side or rate-limit error, and, once a
    connection has worked, a 404 that is not the API's (a proxy such as Traefik drops its route
    while no API replica runs, e.g. during a restart of all of them; the API's own errors carry a
    code, and its /ws never answers 404). On a first connection that 404 is a wrong URL: fail fast."""
    if error.status == 0 or error.status >= 500 or error.status == 429:
        return True
    return reconnecting and error.status == 404 and error.code == "http_404"


class WatchSession:
    """What one watch has seen, across reconnections, and when it is over.

    With `job_ids`, the watch ends once every one of them is finished (if `stop_when_finished`).
    Without, it watches every job until the caller stops.
    """

    def __init__(
        self, job_ids: Sequence[str] | None, last_event_id: str | None = None, stop_when_finished: bool = True
    ) -> None:
        self.job_ids = tuple(job_ids) if job_ids else None
        self.cursor = last_event_id or None
        self.stop_when_finished = stop_when_finished
        # Without a resume point, read each job's current state once the first connection is
        # subscribed: a job that finished before the watch started sends no more events.
        self.needs_current_state = self.job_ids is not None and self.cursor is None
        self.connections = 0
        self.trimmed = 0
        self.hello_id: str | None = None  # the current connection's hello `last_event_id`, once it came
        self._versions: dict[str, int] = {}
        self._states: dict[str, JobState] = {}
        self._resume_lost = False
        self.stale: list[str] = []  # jobs to read again: see `receive`

    def query(self) -> dict[str, str]:
        """The /ws query for the next connection: the jobs, and where to resume."""
        query = {}
        if self.job_ids:
            query["jobs"] = ",".join(self.job_ids)
        if self.cursor:
            query["last_event_id"] = self.cursor
        return query

    @property
    def done(self) -> bool:
        """Whether every watched job is finished (never, when watching every job)."""
        if not (self.stop_when_finished and self.job_ids):
            return False
        return all(self._states.get(job_id, JobState.QUEUED).finished for job_id in self.job_ids)

    def connected(self) -> None:
        """Note a new connection; the next frame is expected to be its hello."""
        self.connections += 1
        self.hello_id = None

    def receive(self, frame: Mapping[str, Any]) -> list[JobEvent]:
        """The events to yield for one server frame; raises `ApiError` for an error frame."""
        if frame.get("type") not in WATCHED_FRAMES:
            return []  # pong, subscribed and frame types added later
        try:
            parsed = parse_frame(frame)
        except ValueError as invalid:
            raise ApiError(
                200, "bad_frame", f"the server sent a {frame.get('type')} frame this client cannot read: {invalid}"
            ) from None
        if isinstance(parsed, HelloFrame):
            self.hello_id = parsed.last_event_id or START_OF_STREAM
            if self.cursor is None:
                self.cursor = self.hello_id
            return []
        if isinstance(parsed, SnapshotFrame):
            if self._resume_lost:
                # The events we missed are gone and a watch of every job gets only the active ones:
                # a job we last saw active that is not among them changed unseen; read it again.
                present = {job.id for job in parsed.jobs}
                self.stale = [
                    job_id for job_id, state in self._states.items() if not state.finished and job_id not in present
                ]
                self._resume_lost = False
            events = (self.observe(job) for job in parsed.jobs)
            return [event for event in events if event is not None]
        if isinstance(parsed, EventFrame):
            event = self._stream_event(parsed)
            return [event] if event is not None else []
        if isinstance(parsed, ErrorFrame):
            error = error_from_body(0, frame)
            if error.code != EVENTS_TRIMMED:
                raise error
            # The resume point is gone; a snapshot follows and live events resume after hello's id.
            self.trimmed += 1
            self._resume_lost = True
            self.cursor = self.hello_id or self.cursor
        return []

    def take_stale(self) -> list[str]:
        """The job ids to read again with `get` (and pass to `observe`), once each."""
        stale, self.stale = self.stale, []
        return stale

    def observe(self, job: Job) -> JobEvent | None:
        """A job's current state as a snapshot event, or None if it is not newer than what was seen."""
        if not self._wanted(job) or self._seen(job, allow_same=False):
            return None
        self._remember(job)
        return JobEvent(event=SNAPSHOT, job=job)

    def _stream_event(self, frame: EventFrame) -> JobEvent | None:
        if frame.id:
            if not is_after(frame.id, self.cursor):
                return None  # replayed after a reconnection but already yielded
            self.cursor = frame.id
        if not self._wanted(frame.job) or self._seen(frame.job, allow_same=True):
            return None
        self._remember(frame.job)
        return frame.job_event()

    def _wanted(self, job: Job) -> bool:
        return self.job_ids is None or job.id in self.job_ids

    def _seen(self, job: Job, *, allow_same: bool) -> bool:
        # A state read with `get` may be newer than events still in flight: never go back.
        seen = self._versions.get(job.id)
        if seen is None:
            return False
        return job.version < seen or (job.version == seen and not allow_same)

    def _remember(self, job: Job) -> None:
        self._versions[job.id] = max(job.version, self._versions.get(job.id, job.version))
        self._states[job.id] = job.state


class Backoff:
    """Delays between reconnection attempts: doubling with jitter, capped, given up after a while."""

    def __init__(
        self,
        first: float = 0.2,
        cap: float = 3.0,
        give_up_after: float | None = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first = first
        self.cap = cap
        self.give_up_after = give_up_after
        self._clock = clock
        self._attempt = 0
        self._failing_since: float | None = None

    def reset(self) -> None:
        """Forget past failures once a connection works again."""
        self._attempt = 0
        self._failing_since = None

    def next_delay(self) -> float | None:
        """Seconds to wait before the next attempt, or None when it is time to give up."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        if self.give_up_after is not None and now - self._failing_since >= self.give_up_after:
            return None
        delay = min(self.cap, self.first * 2.0**self._attempt)
        self._attempt += 1
        return delay * random.uniform(0.8, 1.0)


def decode_frame(message: str | bytes) -> dict[str, Any]:
    """A /ws frame as a dict; anything that is not a JSON object becomes an empty (ignored) frame."""
    try:
        frame = json.loads(message)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


def time_left(deadline: float | None) -> float | None:
    """Seconds until `deadline` (a monotonic time), None without one; `WatchTimeoutError` once past it."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise WatchTimeoutError("the watched jobs did not finish in time")
    return left


def connection_failure(error: Exception, url: str, deadline: float | None) -> ApiError:
    """What a failed or dropped /ws connection means, as an `ApiError` (`WatchTimeoutError` once past the deadline)."""
    if deadline is not None and time.monotonic() >= deadline:
        raise WatchTimeoutError("the watched jobs did not finish in time") from error
    if isinstance(error, ApiError):
        return error
    if isinstance(error, InvalidStatus):
        response = error.response
        return error_from_response(response.status_code, bytes(response.body or b""), response.reason_phrase)
    return ApiUnavailable(url, str(error) or type(error).__name__)


def retry_delay(failure: ApiError, backoff: Backoff, *, reconnecting: bool = False) -> float:
    """How long to wait before reconnecting; raises `failure` when retrying cannot help or is over.
    `reconnecting`: an earlier connection of this watch worked (see `is_retryable`)."""
    delay = backoff.next_delay() if is_retryable(failure, reconnecting=reconnecting) else None
    if delay is None:
        raise failure
    return delay
