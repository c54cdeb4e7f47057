"""A typed client of the MySpinBot API, sync and async, over HTTP and /ws.

    from myspinbot_client import MySpinBotClient

    with MySpinBotClient() as api:                # MYSPINBOT_API_URL, MYSPINBOT_API_TOKEN
        job = api.submit("generate", {"prompt": "a red fox", "num_frames": 17})
        for event in api.watch(job.id):            # ends when the job is finished
            print(event.job.state, event.job.step, event.job.total, event.job.message)
        api.download(job.id, "out/")

It depends on the wire contract only (no kernel internals), so scripts and the dashboard can
use it against any API they reach: `myspinbot_client.models` (HTTP) and `myspinbot_client.frames`
(/ws) are that contract as pydantic models, and the API answers with these same models.
`myspinbot_client.params` types `key=value` text by a job type's schema (`parse_params`,
`parse_value`), raising `InputError`, as the CLI and the dashboard's forms do.
"""

from myspinbot_client.aio import AsyncMySpinBotClient
from myspinbot_client.errors import ApiError, ApiUnavailable
from myspinbot_client.models import (
    SNAPSHOT,
    Artifact,
    ArtifactStream,
    ErrorBody,
    EventName,
    FieldError,
    FileField,
    Health,
    Job,
    JobEvent,
    JobPage,
    JobState,
    JobType,
    Plugin,
)
from myspinbot_client.params import InputError
from myspinbot_client.sync import MySpinBotClient
from myspinbot_client.telemetry import LogLine, Logs, Metrics, MetricSeries, TelemetryEvent
from myspinbot_client.watch import WatchTimeoutError
from myspinbot_client.webhooks import CreatedWebhook, Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "SNAPSHOT",
    "ApiError",
    "ApiUnavailable",
    "Artifact",
    "ArtifactStream",
    "AsyncMySpinBotClient",
    "CreatedWebhook",
    "ErrorBody",
    "EventName",
    "FieldError",
    "FileField",
    "Health",
    "InputError",
    "Job",
    "JobEvent",
    "JobPage",
    "JobState",
    "JobType",
    "LogLine",
    "Logs",
    "MetricSeries",
    "Metrics",
    "MySpinBotClient",
    "Plugin",
    "TelemetryEvent",
    "WatchTimeoutError",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
