"""The JSON body a receiver gets: the event, the job as the API shows it, absolute artifact URLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from myspinbot import Job
from myspinbot_client.models import format_time


def utc_time(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime at the wire's precision (milliseconds)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def delivery_body(
    event: str, delivery_id: str, job: Job | None, public_url: str, now: float, extra: dict[str, Any] | None = None
) -> str:
    """The body sent on every attempt of one delivery (fixed when the delivery is made)."""
    document: dict[str, Any] = {"event": event, "delivery_id": delivery_id, "created_at": format_time(utc_time(now))}
    document.update(extra or {})
    if job is not None:
        document["job"] = json.loads(job.model_dump_json())
        document["artifacts"] = [
            {"name": artifact.name, "content_type": artifact.content_type, "url": public_url + artifact.url}
            for artifact in job.artifacts
        ]
        document["job_url"] = f"{public_url}/api/jobs/{job.id}"
    return json.dumps(document, separators=(",", ":"))
