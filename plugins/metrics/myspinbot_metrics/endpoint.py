"""`GET /metrics`: refresh the job snapshot from the store, then render the registry."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from myspinbot import BrokerUnavailable, Kernel, StoreUnavailable
from myspinbot_metrics.collector import JobCollector, Snapshot
from myspinbot_metrics.http import HttpMetrics, HttpSeries

log = logging.getLogger(__name__)
SCRAPE_TIMEOUT_SECONDS = 3.0


def install_metrics(app: FastAPI, kernel: Kernel) -> None:
    """Instrument every HTTP handler and add `/metrics` on a registry of our own."""
    registry = CollectorRegistry(auto_describe=True)
    collector = JobCollector(kernel.live_stats, kernel.authenticator)
    registry.register(collector)
    app.add_middleware(HttpMetrics, series=HttpSeries(registry), excluded=["/metrics", "/ws"])
    kernel.pm.hook.register_metrics(registry=registry, kernel=kernel)

    async def refresh() -> None:
        broker = kernel.broker
        depths: dict[str, int] = {}
        paused: set[str] = set()
        if broker is None:  # not in the API (nothing sets it): job figures only
            stats = await kernel.store.stats()
        else:
            stats, depths, paused = await asyncio.gather(
                kernel.store.stats(), broker.depths(kernel.queues()), broker.paused()
            )
        collector.snapshot = Snapshot(
            stats=stats, queue_depths=depths, job_types=sorted(kernel.job_types), paused_queues=paused
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        try:
            await asyncio.wait_for(refresh(), SCRAPE_TIMEOUT_SECONDS)
        except (StoreUnavailable, BrokerUnavailable, TimeoutError) as error:
            # Serve the last snapshot: HTTP metrics stay visible while Redis is away.
            log.warning("job metrics are stale, the store is unreachable: %s", error)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
