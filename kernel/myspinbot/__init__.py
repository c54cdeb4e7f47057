"""MySpinBot's kernel: the public API for plugins.

A job-type plugin needs only what is exported here::

    from myspinbot import JobContext, JobType, hookimpl
"""

__version__ = "0.1.0"

from myspinbot.context import JobCancelled, JobContext
from myspinbot.hookspecs import hookimpl
from myspinbot.jobs import Artifact, EventName, Job, JobEvent, JobState
from myspinbot.jobtypes import FileSpec, JobReader, JobType, ParamError
from myspinbot.kernel import Kernel, LiveStats
from myspinbot.settings import Settings
from myspinbot.store import (
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

__all__ = [
    "DURATION_BUCKETS",
    "Artifact",
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
    "ParamError",
    "Settings",
    "StoreUnavailable",
    "VersionConflict",
    "duration_bucket",
    "duration_seconds",
    "hookimpl",
    "stream_key",
]
