"""The /ws contract: the frames the server sends, and the operations a client sends, as pydantic models.

A connection opens with `HelloFrame`, then a `SnapshotFrame` (or a replay of `EventFrame`s after
`last_event_id`), then live `EventFrame`s; `ErrorFrame` carries the common error body. Frame
types this client does not know parse as None, so a newer server does not break it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from myspinbot_client.models import ErrorInfo, EventName, Job, JobEvent, Timestamp, WireModel


class HelloFrame(WireModel):
    """The first frame of every connection: the server's clock and the newest event id it knows."""

    type: Literal["hello"] = "hello"
    server_time: Timestamp
    last_event_id: str | None = Field(None, description='Resume from here with ?last_event_id= ("0-0": empty stream)')


class SnapshotFrame(WireModel):
    """The current state of the subscribed jobs (or of every active job) when no replay is possible or asked."""

    type: Literal["snapshot"] = "snapshot"
    jobs: list[Job]


class EventFrame(WireModel):
    """One event of the stream: what happened (`event`) and the job's state right after it."""

    type: Literal["event"] = "event"
    id: str = Field(description="The event stream id; pass the last one seen as ?last_event_id= to resume")
    event: EventName
    job: Job

    def job_event(self) -> JobEvent:
        """The frame as a `JobEvent`."""
        return JobEvent(id=self.id, event=self.event, job=self.job)


class ErrorFrame(WireModel):
    """An error, in the common error shape (`code` "events_trimmed": the resume point is gone)."""

    type: Literal["error"] = "error"
    error: ErrorInfo


class PongFrame(WireModel):
    """The answer to `{"op": "ping"}`."""

    type: Literal["pong"] = "pong"
    server_time: Timestamp


class SubscribedFrame(WireModel):
    """The answer to `{"op": "subscribe"}`: the subscription now in force ("*": every job); a snapshot follows."""

    type: Literal["subscribed"] = "subscribed"
    jobs: Literal["*"] | list[str]


ServerFrame = Annotated[
    HelloFrame | SnapshotFrame | EventFrame | ErrorFrame | PongFrame | SubscribedFrame, Field(discriminator="type")
]
KNOWN_FRAMES = frozenset({"hello", "snapshot", "event", "error", "pong", "subscribed"})
_server_frame: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


class SubscribeOp(WireModel):
    """Change what this connection receives: some job ids, or "*" for every job."""

    op: Literal["subscribe"] = "subscribe"
    jobs: Literal["*"] | list[str] = "*"


class PingOp(WireModel):
    """Ask for a `PongFrame` (a liveness check)."""

    op: Literal["ping"] = "ping"


def parse_frame(message: str | bytes | Mapping[str, Any]) -> ServerFrame | None:
    """A server frame from its JSON text (or decoded object); None for a frame type this client does not know.

    Raises `ValueError` (pydantic's `ValidationError` is one) for text that is not JSON or a
    known frame that does not match its model.
    """
    data = message if isinstance(message, Mapping) else json.loads(message)
    if not isinstance(data, Mapping) or data.get("type") not in KNOWN_FRAMES:
        return None
    return _server_frame.validate_python(data)


__all__ = [
    "ErrorFrame",
    "EventFrame",
    "HelloFrame",
    "PingOp",
    "PongFrame",
    "ServerFrame",
    "SnapshotFrame",
    "SubscribeOp",
    "SubscribedFrame",
    "parse_frame",
]
