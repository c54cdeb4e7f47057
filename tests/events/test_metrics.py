"""/metrics: exact job counts although jobs run in another process, equal on every API replica."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from myspinbot import Settings
from myspinbot.api.app import create_app
from tests.support.jobs import wait_state
from tests.support.processes import ServiceProcess

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def second_replica(settings: Settings) -> Iterator[TestClient]:
    """Another API process on the same Redis, as a second replica behind a load balancer."""
    with TestClient(create_app(settings)) as replica:
        yield replica


def test_job_metrics_count_jobs_run_by_another_process(
    client: TestClient, second_replica: TestClient, worker: ServiceProcess
) -> None:
    """Submitted/finished counters and duration buckets move by exactly the jobs run by the worker
    process, and two replicas report the same figures."""
    before = scrape(client)
    jobs = [client.post("/api/jobs/sleepy", json={"steps": 2, "step_seconds": 0}).json() for _ in range(3)]
    jobs.append(second_replica.post("/api/jobs/failing", json={}).json())
    for job in jobs:
        wait_state(client, job["id"])
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("myspinbot_jobs_submitted_total", type="sleepy") == 3
    assert delta("myspinbot_jobs_submitted_total", type="failing") == 1
    assert delta("myspinbot_jobs_finished_total", type="sleepy", state="succeeded") == 3
    assert delta("myspinbot_jobs_finished_total", type="failing", state="failed") == 1
    assert delta("myspinbot_job_duration_seconds_count", type="sleepy") == 3
    assert delta("myspinbot_job_duration_seconds_bucket", type="sleepy", le="+Inf") == 3
    assert delta("myspinbot_job_duration_seconds_bucket", type="sleepy", le="1.0") == 3
    assert value(after, "myspinbot_jobs_running", type="sleepy") == 0
    assert ("myspinbot_queue_depth", (("queue", "sleepy"),)) in after
    assert value(after, "http_requests_total", handler="/api/jobs/{job_type}", method="POST", status="2xx") >= 3

    replica = scrape(second_replica)

    def mine(key: tuple[str, tuple[tuple[str, str], ...]]) -> bool:
        return dict(key[1]).get("type") in ("sleepy", "failing")

    for name in (
        "myspinbot_jobs_submitted_total",
        "myspinbot_jobs_finished_total",
        "myspinbot_job_duration_seconds_count",
    ):
        # Only this test's job types: a job another test left running may finish between the scrapes.
        ours = {key: v for key, v in after.items() if key[0] == name and mine(key)}
        theirs = {key: v for key, v in replica.items() if key[0] == name and mine(key)}
        assert ours and ours == theirs  # global figures: a dashboard takes max() over replicas, not sum()


def test_ws_metrics_count_this_process(client: TestClient) -> None:
    """WS clients and messages sent are per-process figures; a closed socket is freed at once."""
    before = scrape(client)
    with client.websocket_connect("/ws") as ws:
        ws.receive_json()
        ws.receive_json()
        during = scrape(client)
    assert value(during, "myspinbot_ws_clients") == value(before, "myspinbot_ws_clients") + 1
    assert value(during, "myspinbot_ws_messages_sent_total") >= value(before, "myspinbot_ws_messages_sent_total") + 2
    after = scrape(client)  # closing the socket frees its place at once
    assert value(after, "myspinbot_ws_clients") == value(before, "myspinbot_ws_clients")
