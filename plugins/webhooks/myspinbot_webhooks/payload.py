"""The JSON body a receiver gets: the event, the job as the API shows it, absolute artifact URLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from myspinbot import Job


def iso_time(epoch: float) -> str:
    """Epoch seconds as ISO 8601 UTC with milliseconds, like the job's own timestamps."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery_body(event: str, delivery_id: str, job: Job | None, public_url: str, now: float) -> str:
    """The body sent on every attempt of one delivery (fixed when the delivery is made)."""
    document: dict[str, Any] = {"event": event, "delivery_id": delivery_id, "created_at": iso_time(now)}
    if job is not None:
        document["job"] = json.loads(job.model_dump_json())
        document["artifacts"] = [
            {"name": artifact.name, "content_type": artifact.content_type, "url": public_url + artifact.url}
            for artifact in job.artifacts
        ]
        document["job_url"] = f"{public_url}/api/jobs/{job.id}"
    return json.dumps(document, separators=(",", ":"))
