"""The metrics plugin's HTTP middleware records exactly the series prometheus-fastapi-instrumentator did."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from myspinbot_metrics.http import HttpMetrics, HttpSeries

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
    """Every HTTP sample; timings differ run to run, so of a latency histogram only its count and
    its buckets' bounds (not how many fell in each) are kept."""
    found: Series = {}
    for family in registry.collect():
        for sample in family.samples:
            if not sample.name.startswith("http_") or sample.name.endswith(("_created", "_seconds_sum")):
                continue
            timed = "duration" in sample.name and sample.name.endswith("_bucket")
            found[(sample.name, tuple(sorted(sample.labels.items())))] = -1.0 if timed else sample.value
    return found


def test_same_series_as_the_instrumentator() -> None:
    """Names, types, help texts, labels and values (counts, sizes) match the
    instrumentator's after the same requests, including a repeated static route (whose name the
    middleware keeps) and a templated one."""
    theirs = CollectorRegistry()
    app = small_app()
    Instrumentator(
        registry=theirs, excluded_handlers=EXCLUDED, should_group_status_codes=True, should_ignore_untemplated=True
    ).instrument(app)
    exercise(app)

    ours = CollectorRegistry()
    app = small_app()
    app.add_middleware(HttpMetrics, series=HttpSeries(ours), excluded=EXCLUDED)
    exercise(app)

    def families(registry: CollectorRegistry) -> set[tuple[str, str, str]]:
        return {(f.name, f.type, f.documentation) for f in registry.collect() if f.name.startswith("http_")}

    assert families(ours) == families(theirs)
    expected = series(theirs)
    assert expected[("http_requests_total", (("handler", "/api/generate"), ("method", "POST"), ("status", "2xx")))] == 4
    assert expected[("http_requests_total", (("handler", "/api/jobs/{job_id}"), ("method", "GET"), ("status", "4xx")))]
    assert series(ours) == expected
