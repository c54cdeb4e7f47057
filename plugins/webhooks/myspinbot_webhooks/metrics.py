"""`/metrics` figures of the webhooks: deliveries and attempts by outcome, and the pending outbox.

The counters live in Redis (global and exact across processes, like the job metrics), read by the
deliverer loop about once a second; over several API replicas aggregate them with `max`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from myspinbot_webhooks.deliverer import OutboxFigures

DELIVERY_OUTCOMES = ("succeeded", "failed")
ATTEMPT_OUTCOMES = ("succeeded", "retry", "rejected", "refused", "dropped")


class WebhookCollector(Collector):
    """Reports the latest figures the deliverer read from the outbox."""

    def __init__(self, figures: Callable[[], OutboxFigures]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        figures = self.figures()
        deliveries = CounterMetricFamily(
            "myspinbot_webhook_deliveries", "Webhook deliveries that ended, by outcome", labels=["outcome"]
        )
        for outcome in DELIVERY_OUTCOMES:
            deliveries.add_metric([outcome], figures.outcomes.get(f"delivery:{outcome}", 0))
        yield deliveries
        attempts = CounterMetricFamily(
            "myspinbot_webhook_attempts", "Webhook attempts (HTTP requests or refusals), by outcome", labels=["outcome"]
        )
        for outcome in ATTEMPT_OUTCOMES:
            attempts.add_metric([outcome], figures.outcomes.get(f"attempt:{outcome}", 0))
        yield attempts
        yield GaugeMetricFamily(
            "myspinbot_webhook_pending",
            "Webhook deliveries waiting in the outbox (due or retrying)",
            value=figures.pending,
        )
