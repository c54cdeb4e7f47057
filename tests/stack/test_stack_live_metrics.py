"""A real Prometheus scrapes a live API while a real worker runs jobs; every dashboard query has data."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from dashboard_queries import all_values, load_dashboard, queries, render
from stack_prometheus import LivePrometheus
from stack_tools import require_tool
from websockets.sync.client import connect

from myspinbot.cli.procs import wait_until
from tests.support.jobs import submit_and_wait

if TYPE_CHECKING:
    from tests.support.processes import LiveStack

JOBS = 3
SUCCEEDED = 'myspinbot_jobs_finished_total{type="generate",state="succeeded"}'
# Rate window for `$__rate_interval`: holds every scrape of the run (about 10 s, one scrape a second).
RATE_WINDOW = "30s"
CONTRACT_METRICS = (
    "myspinbot_jobs_submitted_total",
    "myspinbot_jobs_finished_total",
    "myspinbot_job_duration_seconds_bucket",
    "myspinbot_job_duration_seconds_sum",
    "myspinbot_job_duration_seconds_count",
    "myspinbot_queue_depth",
    "myspinbot_jobs_running",
    "myspinbot_ws_clients",
    "myspinbot_ws_messages_sent_total",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "myspinbot_queue_paused",
    "myspinbot_auth_failures_total",
    "myspinbot_auth_throttled_total",
    "myspinbot_telemetry_points_ingested_total",
    "myspinbot_telemetry_points_dropped_total",
    "myspinbot_ws_telemetry_frames_total",
    "myspinbot_webhook_deliveries_total",
    "myspinbot_webhook_pending",
)


def auth_headers(live_stack: LiveStack) -> dict[str, str]:
    """A bearer header when the live API was started with a token."""
    token = live_stack.env().get("MYSPINBOT_API_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="module")
def prometheus(live_stack: LiveStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    """Prometheus scraping the live API every second with the stack's scrape job; stopped by PID."""
    binary = require_tool("prometheus")
    address = live_stack.api_url.removeprefix("http://")
    live = LivePrometheus.start(binary, tmp_path_factory.mktemp("prometheus"), address)
    try:
        yield live
    finally:
        live.daemon.stop()


def scraped_successes(prometheus: LivePrometheus) -> float:
    """Succeeded generate jobs as Prometheus last scraped them (0 before the first)."""
    result = prometheus.query(f"max({SUCCEEDED})")
    return float(result[0]["value"][1]) if result else 0.0


def run_generate_job(client: httpx.Client) -> dict[str, Any]:
    """Submit a mock video job and wait for the worker to finish it."""
    return submit_and_wait(client, "/api/generate", {"prompt": "a red fox", "num_frames": 17})


@pytest.fixture(scope="module")
def jobs_ran(live_stack: LiveStack, prometheus: LivePrometheus) -> None:
    """Jobs run one after another, each end seen by its own scrape, while a WebSocket client watches.

    The first job runs while Prometheus waits for its first scrape (~5 s); the next ones then make
    every job counter and histogram bucket grow between two scrapes, so rates are above zero.
    """
    ws_url = live_stack.api_url.replace("http://", "ws://", 1) + "/ws"
    headers = auth_headers(live_stack)
    # The client reads only the hello frame: an unbounded receive buffer keeps the job events that
    # follow from pausing its reader, which would stall the closing handshake until its timeout.
    with (
        connect(ws_url, additional_headers=headers, open_timeout=10, max_queue=None) as ws,
        httpx.Client(base_url=live_stack.api_url, headers=headers, timeout=10) as client,
    ):
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        for _ in range(JOBS):
            before = scraped_successes(prometheus)
            job = run_generate_job(client)
            assert job["state"] == "succeeded", job

            # The next job starts only once Prometheus has this one, so the counters grow between scrapes.
            def scraped(before: float = before) -> bool:
                return scraped_successes(prometheus) > before

            wait_until(scraped, 15, lambda: f"a scrape after the job; API target: {prometheus.api_target_state()}")


def test_every_dashboard_query_has_data(prometheus: LivePrometheus, jobs_ran: None) -> None:
    """Each query of each Grafana panel returns finite data from the real Prometheus."""
    dashboard = load_dashboard()
    values = all_values(dashboard, RATE_WINDOW)
    rendered = {f"{q.panel_title} {q.ref_id}": render(q.expr, values) for q in queries(dashboard)}
    missing = list(rendered)
    deadline = time.monotonic() + 20
    while True:
        missing = [name for name in missing if not prometheus.has_finite_data(rendered[name])]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert missing == [], {name: rendered[name] for name in missing}


def test_job_rate_counts_the_jobs(prometheus: LivePrometheus, jobs_ran: None) -> None:
    """The Job Rate panel shows succeeded generate jobs at a rate above zero."""
    (query,) = (q for q in queries(load_dashboard()) if q.panel_title == "Job Rate" and q.ref_id == "A")
    expr = render(query.expr, all_values(load_dashboard(), RATE_WINDOW))
    samples = {(s["metric"]["type"], s["metric"]["state"]): float(s["value"][1]) for s in prometheus.query(expr)}
    assert samples[("generate", "succeeded")] > 0


def test_live_metrics_pass_promtool_lint(live_stack: LiveStack, jobs_ran: None) -> None:
    """The API's /metrics (classic text format) has every contract metric and no promtool lint finding."""
    promtool = require_tool("promtool")
    response = httpx.get(f"{live_stack.api_url}/metrics", headers={"Accept": "text/plain; version=0.0.4"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in CONTRACT_METRICS:
        assert f"\n{name}{{" in text or f"\n{name} " in text, f"/metrics lacks {name}"
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
