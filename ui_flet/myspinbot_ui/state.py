"""`JobBoard`: every job the dashboard knows, kept current by pages, snapshots and /ws events.

Plain Python with no Flet in it, so it is unit-tested alone. A job is replaced only by a newer
version of itself: events can arrive after a page or snapshot that already includes them, and
replayed events after a reconnection, so order of arrival does not decide what is shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from myspinbot_client import Job, JobEvent, JobPage, JobState
from myspinbot_client.frames import EventFrame, SnapshotFrame, parse_frame
from myspinbot_client.watch import is_after

ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a list shows: one state and one job type, or all (None)."""

    state: JobState | None = None
    job_type: str | None = None

    def matches(self, job: Job) -> bool:
        """Whether `job` passes this filter."""
        return (self.state is None or job.state is self.state) and (self.job_type is None or job.type == self.job_type)


@dataclass
class PageCursor:
    """How far `GET /api/jobs` has been read for one filter."""

    loaded: bool = False
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        """Whether older jobs remain to be loaded (unknown before the first page: True)."""
        return not self.loaded or self.next_cursor is not None


def is_newer(new: Job, held: Job) -> bool:
    """Whether `new` is a later state of the job than `held` (versions decide; else never un-finish)."""
    if new.version != held.version:
        return new.version > held.version
    if held.finished and not new.finished:
        return False
    return new != held


def _newest_first(job: Job) -> tuple[float, str]:
    return (-job.created_at.timestamp(), job.id)


class JobBoard:
    """The jobs known to one dashboard session, newest first, and where the event stream was left."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._pages: dict[JobFilter, PageCursor] = {}
        self.last_event_id: str | None = None
        self.revision = 0  # moves on every change, so a view can tell whether to render again

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def get(self, job_id: str) -> Job | None:
        """A job by id, if known."""
        return self._jobs.get(job_id)

    def apply(self, job: Job) -> bool:
        """Take a job's state if it is newer than the one held; True when the board changed."""
        held = self._jobs.get(job.id)
        if held is not None and not is_newer(job, held):
            return False
        self._jobs[job.id] = job
        self.revision += 1
        return True

    def apply_all(self, jobs: Iterable[Job]) -> bool:
        """Apply several jobs; True when any of them changed the board."""
        changed = False
        for job in jobs:
            changed = self.apply(job) or changed
        return changed

    def apply_event(self, event: JobEvent) -> bool:
        """Apply a /ws event (or a snapshot entry) and remember the stream position it came from."""
        if event.id is not None and is_after(event.id, self.last_event_id):
            self.last_event_id = event.id
        return self.apply(event.job)

    def stream_connected(self, last_event_id: str) -> None:
        """Note where the event stream stood when the first watch connected, if no event came yet.

        Pages read after this are covered by the events that follow it, so a later watch (after
        the browser reconnects, say) resumes from here rather than from its own hello.
        """
        if self.last_event_id is None:
            self.last_event_id = last_event_id

    @property
    def streaming(self) -> bool:
        """Whether the board has a stream position, i.e. a watch has connected and said hello."""
        return self.last_event_id is not None

    def apply_frame(self, frame: Mapping[str, Any]) -> bool:
        """Apply a raw /ws frame: a `snapshot` (many jobs) or an `event` (one); others change nothing."""
        if frame.get("type") not in ("snapshot", "event"):
            return False
        parsed = parse_frame(frame)
        if isinstance(parsed, SnapshotFrame):
            return self.apply_all(parsed.jobs)
        if isinstance(parsed, EventFrame):
            return self.apply_event(parsed.job_event())
        return False

    def add_page(self, job_filter: JobFilter, page: JobPage) -> bool:
        """Merge one page of `GET /api/jobs` read with `job_filter`, and where its next page starts."""
        cursor = self._pages.setdefault(job_filter, PageCursor())
        cursor.loaded = True
        cursor.next_cursor = page.next_cursor
        changed = self.apply_all(page.jobs)
        self.revision += 1  # has_more may have changed even when no job did
        return changed

    def page_cursor(self, job_filter: JobFilter) -> PageCursor:
        """How far the list for `job_filter` has been read."""
        return self._pages.get(job_filter) or PageCursor()

    def forget_pages(self) -> None:
        """Start paging again from the newest jobs (after the API was away and may have lost jobs)."""
        self._pages.clear()
        self.revision += 1

    def jobs(self, job_filter: JobFilter | None = None) -> list[Job]:
        """The jobs passing `job_filter`, newest first."""
        chosen = self._jobs.values() if job_filter is None else filter(job_filter.matches, self._jobs.values())
        return sorted(chosen, key=_newest_first)

    def active(self) -> list[Job]:
        """Queued and running jobs, newest first."""
        return [job for job in self.jobs() if job.state in ACTIVE_STATES]

    def counts(self) -> Counter[JobState]:
        """How many known jobs are in each state."""
        return Counter(job.state for job in self._jobs.values())

    def job_types(self) -> list[str]:
        """The job types among the known jobs, sorted."""
        return sorted({job.type for job in self._jobs.values()})
