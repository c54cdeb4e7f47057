"""MySpinBot's kernel: the public API for plugins.

A job-type plugin needs only what is exported here::

    from myspinbot import JobContext, JobType, hookimpl
"""

__version__ = "0.1.0"

from myspinbot.core.context import JobCancelled, JobContext
from myspinbot.core.hookspecs import hookimpl
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
    StoreUnavailable,
    VersionConflict,
    duration_bucket,
    duration_seconds,
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
    "Artifact",
    "ArtifactKind",
    "BatchWritten",
    "BrokerUnavailable",
    "BrokerView",
    "EventName",
    "EventsTrimmed",
    "FileSpec",
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
    "LiveStats",
    "LogLine",
    "MetricPoint",
    "ParamError",
    "Preview",
    "Priority",
    "Settings",
    "StoreUnavailable",
    "TelemetryBatch",
    "TelemetryKind",
    "TelemetryNotice",
    "TelemetryStore",
    "VersionConflict",
    "duration_bucket",
    "duration_seconds",
    "hookimpl",
    "stream_key",
]
