"""The job record and its events: the client's wire models, plus what only the server keeps.

`Job`, `Artifact`, `JobState` and `EventName` *are* the models of `myspinbot_client.models`, so
what the API answers with is, by construction, what the client reads. `JobEvent` adds one
field the store reports on save and that never goes on the wire.
"""

from __future__ import annotations

from pydantic import Field

from myspinbot_client import models as wire
from myspinbot_client.models import (
    FINISHED_STATES,
    Artifact,
    ArtifactKind,
    EventName,
    Job,
    JobState,
    format_time,
    utc_now,
)

__all__ = [
    "FINISHED_STATES",
    "FINISH_EVENTS",
    "Artifact",
    "ArtifactKind",
    "EventName",
    "Job",
    "JobEvent",
    "JobState",
    "format_time",
    "job_links",
    "utc_now",
]

FINISH_EVENTS = {
    JobState.SUCCEEDED: EventName.SUCCEEDED,
    JobState.FAILED: EventName.FAILED,
    JobState.CANCELLED: EventName.CANCELLED,
}


class JobEvent(wire.JobEvent):
    """One entry of the event stream: what happened and the job's state right after it.

    Narrower than the wire's: the server makes only stream events (never snapshots), and each
    has its stream id once the store has saved it.
    """

    id: str = Field("", description="The stream id; empty until the store saves the event")
    event: EventName
    cancel_requested: bool = Field(
        False, exclude=True, description="Set by the store on save: a cancel flag is raised for this job"
    )
    batch_finished: bool = Field(
        False, exclude=True, description="Set by the store on save: this was the last of its batch to finish"
    )


def job_links(job_id: str) -> dict[str, str]:
    """Where a client finds more about a job."""
    return {
        "self": f"/api/jobs/{job_id}",
        "status": f"/api/status/{job_id}",
        "cancel": f"/api/jobs/{job_id}/cancel",
        "artifacts": f"/api/jobs/{job_id}/artifacts",
        "events": f"/ws?jobs={job_id}",
    }
