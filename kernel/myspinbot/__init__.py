"""MySpinBot's kernel: the public API for plugins.

A job-type plugin needs only what is exported here::

    from myspinbot import JobContext, JobType, hookimpl
"""

__version__ = "0.1.0"

from myspinbot.core.context import JobCancelled, JobContext
from myspinbot.core.forks import fork_generation
from myspinbot.core.hookspecs import hookimpl
from myspinbot.core.identity import (
    ApiKey,
    ApiKeyRecord,
    Credentials,
    IdentityStore,
    KeyKind,
    Principal,
    Role,
    User,
    UserExists,
    UserRecord,
    epoch_seconds,
    principal_of,
    timestamp,
)
from myspinbot.core.job_service import BrokerUnavailable
from myspinbot.core.jobs import Artifact, ArtifactKind, EventName, Job, JobEvent, JobState
from myspinbot.core.jobtypes import FileSpec, JobReader, JobType, ParamError
from myspinbot.core.kernel import Kernel, LiveStats
from myspinbot.core.queueing import BrokerView, Priority
from myspinbot.core.settings import Settings
from myspinbot.core.store import (
    DURATION_BUCKETS,
    EventsTrimmed,
    JobPage,
    JobStats,
    JobStore,
    QueuedMessage,
    StoreUnavailable,
    VersionConflict,
    duration_bucket,
    duration_seconds,
    run_blocking,
    stream_key,
)
from myspinbot.core.telemetry import (
    MAX_LOG_LINES,
    MAX_POINTS_PER_JOB,
    BatchWritten,
    LogLine,
    MetricPoint,
    Preview,
    TelemetryBatch,
    TelemetryKind,
    TelemetryNotice,
    TelemetryStore,
)

__all__ = [
    "DURATION_BUCKETS",
    "MAX_LOG_LINES",
    "MAX_POINTS_PER_JOB",
    "ApiKey",
    "ApiKeyRecord",
    "Artifact",
    "ArtifactKind",
    "BatchWritten",
    "BrokerUnavailable",
    "BrokerView",
    "Credentials",
    "EventName",
    "EventsTrimmed",
    "FileSpec",
    "IdentityStore",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobEvent",
    "JobPage",
    "JobReader",
    "JobState",
    "JobStats",
    "JobStore",
    "JobType",
    "Kernel",
    "KeyKind",
    "LiveStats",
    "LogLine",
    "MetricPoint",
    "ParamError",
    "Preview",
    "Principal",
    "Priority",
    "QueuedMessage",
    "Role",
    "Settings",
    "StoreUnavailable",
    "TelemetryBatch",
    "TelemetryKind",
    "TelemetryNotice",
    "TelemetryStore",
    "User",
    "UserExists",
    "UserRecord",
    "VersionConflict",
    "duration_bucket",
    "duration_seconds",
    "epoch_seconds",
    "fork_generation",
    "hookimpl",
    "principal_of",
    "run_blocking",
    "stream_key",
    "timestamp",
]
