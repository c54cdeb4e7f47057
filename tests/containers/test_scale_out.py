"""Scale-out in containers: a worker service per queue, and two API replicas behind Traefik."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import ClientConnection, connect

from myspinbot.cli.procs import wait_until
from myspinbot_client.connection import threaded_ws_ssl
from tests.containers.jobs import ran_on, submit_generate, submit_train
from tests.containers.stack import API_TOKEN, ComposeStack
from tests.containers.through_traefik import api_client, api_url

JOB_COUNTERS = ("myspinbot_jobs_submitted_total", "myspinbot_jobs_finished_total")
REPLICAS = (1, 2)


def replica_metrics(stack: ComposeStack, number: int) -> dict[str, float]:
    """One API replica's own /metrics, read inside its container (it is not routed), as {series: value}."""
    code = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:3000/metrics').read().decode())"
    text = stack.exec("api", "python", "-c", code, number=number)
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{key}={value}" for key, value in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


def job_counts(metrics: dict[str, float]) -> dict[str, float]:
    """The global job counters among a replica's series."""
    return {series: value for series, value in metrics.items() if series.startswith(JOB_COUNTERS)}


def ws_clients(stack: ComposeStack, number: int) -> float:
    """How many WebSocket clients one replica holds."""
    return replica_metrics(stack, number).get("myspinbot_ws_clients{}", 0.0)


@contextmanager
def watchers(stack: ComposeStack, count: int) -> Iterator[list[ClientConnection]]:
    """`count` raw WebSocket clients on wss://api.<domain>/ws, subscribed to every job, closed afterwards."""
    url = api_url(stack).replace("https://", "wss://") + "/ws"
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    with ExitStack() as stack_of_sockets:
        sockets = []
        for _ in range(count):
            ws = stack_of_sockets.enter_context(
                connect(url, additional_headers=headers, ssl=threaded_ws_ssl(url, False))
            )
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            sockets.append(ws)
        yield sockets


def events_until_finished(ws: ClientConnection, job_id: str) -> list[str]:
    """The event names one client receives for a job until it succeeds or fails."""
    names: list[str] = []
    while not names or names[-1] not in ("job.succeeded", "job.failed"):
        frame = json.loads(ws.recv(timeout=60))
        if frame.get("type") == "event" and frame["job"]["id"] == job_id:
            names.append(frame["event"])
    return names


def clients_now(stack: ComposeStack) -> list[float]:
    """Each replica's WS client count."""
    return [ws_clients(stack, number) for number in REPLICAS]


def test_each_worker_service_serves_only_its_own_queue(compose_stack: ComposeStack, tmp_path: Path) -> None:
    """Generate jobs run in the `worker` container (queue generate), train jobs in `worker-train` (queue train)."""
    assert "-Q generate" in " ".join(compose_stack.container("worker")["Args"])
    assert "-Q train" in " ".join(compose_stack.container("worker-train")["Args"])
    with api_client(compose_stack) as api:
        jobs = [submit_generate(api, f"queue check {index}") for index in range(2)]
        jobs += [submit_train(api, tmp_path / f"set{index}", f"queue{index}") for index in range(2)]
        finished = [api.wait(job.id, timeout=120) for job in jobs]
    ran = {job.id: (job.type, ran_on(compose_stack, job)) for job in finished}
    assert all(job.state.value == "succeeded" for job in finished), [(job.type, job.error) for job in finished]
    assert {service for kind, service in ran.values() if kind == "generate"} == {"worker"}, ran
    assert {service for kind, service in ran.values() if kind == "train"} == {"worker-train"}, ran


def test_two_api_replicas_serve_websockets_and_agree_on_job_counts(compose_stack: ComposeStack) -> None:
    """WS clients land on both replicas and each gets a job's events; both /metrics give the same job counts."""
    before = {number: ws_clients(compose_stack, number) for number in REPLICAS}
    with watchers(compose_stack, 4) as sockets:
        # Traefik balances new connections round-robin: four clients reach both replicas.
        wait_until(
            lambda: all(ws_clients(compose_stack, n) > before[n] for n in REPLICAS),
            30,
            lambda: (
                f"WS clients on both replicas (before {before}, now {[ws_clients(compose_stack, n) for n in REPLICAS]})"
            ),
        )
        with api_client(compose_stack) as api:
            job = submit_generate(api, "two replicas")
            for ws in sockets:
                names = events_until_finished(ws, job.id)
                assert names[0] == "job.queued" and names[-1] == "job.succeeded", names
    counts = [job_counts(replica_metrics(compose_stack, number)) for number in REPLICAS]
    assert counts[0] and counts[0] == counts[1], counts
    assert any(series.startswith("myspinbot_jobs_finished_total") and value >= 1 for series, value in counts[0].items())
