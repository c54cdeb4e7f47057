"""The metrics plugin's HTTP middleware records exactly the series prometheus-fastapi-instrumentator did."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from myspinbot_metrics.http import HttpMetrics, default_instrumentation

EXCLUDED = ["/metrics", "/ws"]
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def small_app() -> FastAPI:
    """Routes of each kind the middleware names: static, templated, excluded, failing."""
    app = FastAPI()

    @app.post("/api/generate", status_code=202)
    async def submit() -> dict[str, str]:
        return {"id": "x"}

    @app.get("/api/jobs/{job_id}")
    async def job(job_id: str) -> dict[str, str]:
        if job_id == "missing":
            raise HTTPException(404, "no such job")
        return {"id": job_id}

    @app.get("/metrics")
    async def metrics() -> str:
        return ""

    return app


def exercise(app: FastAPI) -> None:
    with TestClient(app) as client:
        for _ in range(3):
            client.post("/api/generate", json={})
        client.post("/api/generate", content=b"x" * 50, headers={"content-type": "application/json"})
        client.get("/api/jobs/a1")
        client.get("/api/jobs/b2")
        client.get("/api/jobs/missing")
        client.get("/metrics")
        client.get("/nowhere")
        client.delete("/api/generate")  # the path matches, the method does not: 405


def series(registry: CollectorRegistry) -> Series:
    """Every HTTP sample but the timings (which differ run to run); histogram counts are kept."""
    found: Series = {}
    for family in registry.collect():
        for sample in family.samples:
            timed = "duration" in sample.name and not sample.name.endswith("_count")
            if sample.name.startswith("http_") and not timed and not sample.name.endswith("_created"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_same_series_as_the_instrumentator() -> None:
    """Names, labels and values (counts, sizes) match the instrumentator's after the same requests,
    including a repeated static route (whose name the middleware keeps) and a templated one."""
    theirs = CollectorRegistry()
    app = small_app()
    Instrumentator(
        registry=theirs, excluded_handlers=EXCLUDED, should_group_status_codes=True, should_ignore_untemplated=True
    ).instrument(app)
    exercise(app)

    ours = CollectorRegistry()
    app = small_app()
    app.add_middleware(HttpMetrics, instrumentation=default_instrumentation(ours), excluded=EXCLUDED)
    exercise(app)

    expected = series(theirs)
    assert expected[("http_requests_total", (("handler", "/api/generate"), ("method", "POST"), ("status", "2xx")))] == 4
    assert expected[("http_requests_total", (("handler", "/api/jobs/{job_id}"), ("method", "GET"), ("status", "4xx")))]
    assert series(ours) == expected
