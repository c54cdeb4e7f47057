"""Job and WebSocket metrics, built from a snapshot of the store taken at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from myspinbot import DURATION_BUCKETS, JobStats, LiveStats

if TYPE_CHECKING:
    from myspinbot.core.auth import Authenticator

FINAL_STATES = ("succeeded", "failed", "cancelled")


@dataclass
class Snapshot:
    """What one scrape reports: global job stats, queue depths and the job types known."""

    stats: JobStats = field(default_factory=JobStats)
    queue_depths: dict[str, int] = field(default_factory=dict)
    paused_queues: set[str] = field(default_factory=set)
    job_types: list[str] = field(default_factory=list)


class JobCollector(Collector):
    """Reports the latest snapshot; the /metrics endpoint refreshes it before each scrape."""

    def __init__(self, live: LiveStats, authenticator: Authenticator | None = None) -> None:
        self.live = live
        self.authenticator = authenticator
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        stats, types = self.snapshot.stats, self.snapshot.job_types
        submitted = CounterMetricFamily(
            "myspinbot_jobs_submitted", "Jobs accepted by the API, by job type", labels=["type"]
        )
        for job_type in sorted(set(types) | set(stats.submitted)):
            submitted.add_metric([job_type], stats.submitted.get(job_type, 0))
        yield submitted

        finished = CounterMetricFamily(
            "myspinbot_jobs_finished", "Jobs that ended, by job type and final state", labels=["type", "state"]
        )
        # Every series exists from the start at 0, so rate() and increase() see the first job too.
        finished_counts = {(job_type, state): 0 for job_type in types for state in FINAL_STATES}
        finished_counts.update(stats.finished)
        for (job_type, state), count in sorted(finished_counts.items()):
            finished.add_metric([job_type, state], count)
        yield finished

        duration = HistogramMetricFamily(
            "myspinbot_job_duration_seconds", "Run time of finished jobs from first start to end", labels=["type"]
        )
        buckets = {job_type: [0] * (len(DURATION_BUCKETS) + 1) for job_type in types}
        buckets.update(stats.duration_buckets)
        for job_type, cumulative in sorted(buckets.items()):
            bounds = [*(str(float(b)) for b in DURATION_BUCKETS), "+Inf"]
            duration.add_metric(
                [job_type], list(zip(bounds, cumulative, strict=True)), sum_value=stats.duration_sum.get(job_type, 0.0)
            )
        yield duration

        depth = GaugeMetricFamily(
            "myspinbot_queue_depth",
            "Jobs waiting in each queue (held ones of a paused queue included)",
            labels=["queue"],
        )
        for queue, count in sorted(self.snapshot.queue_depths.items()):
            depth.add_metric([queue], count)
        yield depth

        paused = GaugeMetricFamily(
            "myspinbot_queue_paused", "1 while a queue is paused (its jobs wait, none starts)", labels=["queue"]
        )
        for queue in sorted(self.snapshot.queue_depths):
            paused.add_metric([queue], 1 if queue in self.snapshot.paused_queues else 0)
        yield paused

        running = GaugeMetricFamily("myspinbot_jobs_running", "Jobs running now, by job type", labels=["type"])
        for job_type in sorted(set(types) | set(stats.running)):
            running.add_metric([job_type], stats.running.get(job_type, 0))
        yield running

        yield GaugeMetricFamily(
            "myspinbot_ws_clients", "WebSocket clients connected to this API process", value=self.live.clients
        )
        sent = CounterMetricFamily("myspinbot_ws_messages_sent", "Frames this API process sent to WebSocket clients")
        sent.add_metric([], self.live.messages_sent)
        yield sent

        yield CounterMetricFamily(
            "myspinbot_telemetry_points_ingested",
            "Metric points jobs reported and the store kept (global)",
            value=stats.telemetry_points,
        )
        yield CounterMetricFamily(
            "myspinbot_telemetry_points_dropped",
            "Metric points refused because their job reached its bound of points (global)",
            value=stats.telemetry_dropped,
        )
        telemetry_frames = CounterMetricFamily(
            "myspinbot_ws_telemetry_frames",
            "Coalesced telemetry frames this API process queued to WebSocket clients, or skipped for a full outbox",
            labels=["outcome"],
        )
        telemetry_frames.add_metric(["sent"], self.live.telemetry_frames_sent)
        telemetry_frames.add_metric(["skipped"], self.live.telemetry_frames_skipped)
        yield telemetry_frames
        yield from self.auth_metrics()

    def auth_metrics(self) -> Iterator[CounterMetricFamily]:
        """Refused authentications and 429s of this API process (labels are reasons, never secrets or names)."""
        authenticator = self.authenticator
        if authenticator is None:
            return
        failures = CounterMetricFamily(
            "myspinbot_auth_failures",
            "Requests and WebSockets refused with 401 by this API process, by reason (missing, invalid, password)",
            labels=["reason"],
        )
        for reason in ("missing", "invalid", "password"):
            failures.add_metric([reason], authenticator.failures_by_reason.get(reason, 0))
        yield failures
        throttled = CounterMetricFamily(
            "myspinbot_auth_throttled",
            "429s of this API process: too many failed attempts (per user or address) or the per-user job cap",
            labels=["scope"],
        )
        for scope in ("user", "address"):
            throttled.add_metric([scope], authenticator.throttled_by_scope.get(scope, 0))
        throttled.add_metric(["active_jobs_cap"], authenticator.capped)
        yield throttled
