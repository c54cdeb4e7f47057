"""Webhook deliveries across real processes: an API, a Celery worker, Redis and receivers on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from myspinbot.cli.procs import wait_until
from tests.support.processes import LiveStack
from tests.webhooks.receiver import Script, running_receiver
from tests.webhooks.support import (
    LOOPBACK_ENV,
    deliveries,
    documented_verify,
    submit_and_finish,
    subscribe,
    wait_delivery,
)

pytestmark = pytest.mark.slow
ADMIN_TOKEN = "webhooks-admin-token-5f1e2d3c"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """An API (with an admin token) and a worker allowed to deliver to 127.0.0.1 over http, with quick retries."""
    env = {**LOOPBACK_ENV, "MYSPINBOT_API_TOKEN": ADMIN_TOKEN}
    stack = LiveStack(tmp_path_factory.mktemp("webhooks-stack"), extra_env=env).start()
    yield stack
    stack.stop()


@pytest.fixture
def http(stack: LiveStack) -> Iterator[httpx.Client]:
    """An admin's HTTP client on the stack's API; the subscriptions a test made are deleted after it."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=stack.api_url, timeout=10, headers=admin) as client:
        yield client
        for subscription in client.get("/api/webhooks").json()["webhooks"]:
            client.delete(f"/api/webhooks/{subscription['id']}")


def test_receiver_gets_a_signed_job_succeeded(http: httpx.Client) -> None:
    """A finished job reaches the receiver as job.succeeded, signed so the README's recipe verifies it."""
    with running_receiver() as receiver:
        subscription = subscribe(http, receiver.url, ["job.succeeded"])
        job = submit_and_finish(http)
        (request,) = receiver.wait_for(1)
        delivery = wait_delivery(http, subscription["id"])

    verify = documented_verify()
    assert verify(subscription["secret"], request.headers, request.body)
    assert not verify("whsec_wrong", request.headers, request.body)
    assert not verify(subscription["secret"], request.headers, request.body + b" ")
    body = json.loads(request.body)
    assert body["event"] == "job.succeeded" == request.headers["x-myspinbot-event"]
    assert body["job"]["id"] == job["id"] and body["job"]["state"] == "succeeded"
    assert body["delivery_id"] == request.headers["x-myspinbot-delivery"] == delivery["id"]
    assert body["job_url"].startswith("http://127.0.0.1:") and body["job_url"].endswith(f"/api/jobs/{job['id']}")
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [200]
    assert "secret" not in http.get(f"/api/webhooks/{subscription['id']}").json()


def test_three_500s_then_200_is_one_delivery_after_three_failed_attempts(http: httpx.Client) -> None:
    """5xx answers are retried with the same delivery id until a 2xx; one delivery records it all."""
    with running_receiver(Script(statuses=[500, 500, 500], then=200)) as receiver:
        subscription = subscribe(http, receiver.url, ["job.succeeded"])
        submit_and_finish(http)
        delivery = wait_delivery(http, subscription["id"])
        requests = receiver.wait_for(4)

    assert len(deliveries(http, subscription["id"])) == 1
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 500, 500, 200]
    assert all(attempt["error"] == "HTTP 500" for attempt in delivery["attempts"][:3])
    assert len(receiver.requests) == 4
    assert {request.headers["x-myspinbot-delivery"] for request in requests} == {delivery["id"]}


def test_a_delivery_pending_when_the_api_is_killed_is_sent_after_restart(stack: LiveStack, http: httpx.Client) -> None:
    """SIGKILL of the delivering API mid-attempt: the restarted API sends it again, same delivery id."""
    release = threading.Event()
    with running_receiver(Script(hold=release)) as receiver:
        subscription = subscribe(http, receiver.url, ["job.succeeded"])
        submit_and_finish(http)
        (first,) = receiver.wait_for(1)
        assert stack.api is not None
        stack.api.kill()
        receiver.script.hold = None
        release.set()
        stack.start_api()
        requests = receiver.wait_for(2, timeout=60)
        delivery = wait_delivery(http, subscription["id"])

    assert requests[1].headers["x-myspinbot-delivery"] == first.headers["x-myspinbot-delivery"] == delivery["id"]
    assert requests[1].body == first.body
    assert delivery["attempts"][-1]["status_code"] == 200


def test_a_hanging_receiver_delays_neither_the_job_nor_another_receiver(stack: LiveStack, http: httpx.Client) -> None:
    """While one receiver holds its request for 60 s, the job is finished and a second receiver is served."""
    hang = threading.Event()
    with (
        running_receiver(Script(hold=hang, hold_seconds=60)) as stuck,
        running_receiver() as healthy,
    ):
        stuck_sub = subscribe(http, stuck.url, ["job.succeeded"])
        healthy_sub = subscribe(http, healthy.url, ["job.succeeded"])
        job = submit_and_finish(http)
        stuck.wait_for(1)
        healthy_delivery = wait_delivery(http, healthy_sub["id"])
        # The stuck receiver still holds its first request: its delivery has no finished attempt yet,
        # so the job and the healthy receiver were done while it hung.
        (stuck_delivery,) = deliveries(http, stuck_sub["id"])
        assert stuck_delivery["state"] == "pending" and stuck_delivery["attempts"] == []
        assert http.get("/health").status_code == 200
        (healthy_request,) = healthy.wait_for(1)

    assert job["state"] == "succeeded"
    assert json.loads(healthy_request.body)["job"]["id"] == job["id"]
    assert healthy_delivery["attempts"][0]["status_code"] == 200


def test_metrics_show_outcomes_and_the_pending_outbox(stack: LiveStack, http: httpx.Client) -> None:
    """/metrics counts succeeded deliveries and shows the outbox draining to zero."""
    with running_receiver() as receiver:
        subscription = subscribe(http, receiver.url, ["job.succeeded"])
        submit_and_finish(http)
        wait_delivery(http, subscription["id"])

    def figure(line_start: str) -> float:
        text = http.get("/metrics").text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start))

    wait_until(lambda: figure('myspinbot_webhook_deliveries_total{outcome="succeeded"}') >= 1, 10, what="metrics")
    wait_until(lambda: figure("myspinbot_webhook_pending ") == 0, 10, what="an empty outbox")
    assert figure('myspinbot_webhook_attempts_total{outcome="succeeded"}') >= 1


def test_a_finished_batch_is_one_batch_finished_delivery(http: httpx.Client) -> None:
    """When the last job of a batch ends, a batch.finished subscriber gets one signed delivery naming the batch."""
    with running_receiver() as receiver:
        subscription = subscribe(http, receiver.url, ["batch.finished"])
        response = http.post("/api/batches/sleepy", json={"params": [{"steps": 1, "step_seconds": 0.01}] * 3})
        assert response.status_code == 202, response.text
        batch = response.json()
        (request,) = receiver.wait_for(1)
        delivery = wait_delivery(http, subscription["id"])
        wait_until(lambda: http.get(f"/api/batches/{batch['id']}").json()["finished"], 30, what="the batch's end")

    body = json.loads(request.body)
    assert body["event"] == "batch.finished" == request.headers["x-myspinbot-event"]
    assert body["batch_id"] == batch["id"] and body["batch_url"].endswith(f"/api/batches/{batch['id']}")
    assert body["job"]["batch_id"] == batch["id"] and body["job"]["state"] == "succeeded"
    assert documented_verify()(subscription["secret"], request.headers, request.body)
    assert [item["id"] for item in deliveries(http, subscription["id"])] == [delivery["id"]]
    assert len(receiver.requests) == 1


def make_member(http: httpx.Client, name: str, role: str = "member") -> httpx.Client:
    """A user (a member unless told) with an API key, and an HTTP client that calls the API as that user."""
    assert http.post("/api/users", json={"name": name, "role": role}).status_code == 201
    made = http.post("/api/keys", json={"name": f"{name}-key", "user": name})
    assert made.status_code == 201, made.text
    return httpx.Client(
        base_url=str(http.base_url), timeout=10, headers={"Authorization": f"Bearer {made.json()['key']}"}
    )


def test_a_members_webhook_fires_for_its_own_jobs_only_an_admins_for_any(http: httpx.Client) -> None:
    """Alice's webhook gets her job only, the admin's both; Bob cannot see Alice's, a viewer cannot subscribe."""
    with (
        running_receiver() as alice_receiver,
        running_receiver() as admin_receiver,
        make_member(http, "alice") as alice,
        make_member(http, "bob") as bob,
        make_member(http, "vera", role="viewer") as vera,
    ):
        assert vera.post("/api/webhooks", json={"url": alice_receiver.url}).status_code == 403
        alice_sub = subscribe(alice, alice_receiver.url, ["job.succeeded"])
        admin_sub = subscribe(http, admin_receiver.url, ["job.succeeded"])
        assert alice_sub["owner"] == "alice" and admin_sub["owner"] is None
        bobs_job = submit_and_finish(bob)
        alices_job = submit_and_finish(alice)
        admin_receiver.wait_for(2)
        (alice_request,) = alice_receiver.wait_for(1)
        wait_delivery(alice, alice_sub["id"])

        assert bob.get(f"/api/webhooks/{alice_sub['id']}").status_code == 404
        assert bob.delete(f"/api/webhooks/{alice_sub['id']}").status_code == 404
        assert [sub["id"] for sub in alice.get("/api/webhooks").json()["webhooks"]] == [alice_sub["id"]]
        listed = {sub["id"] for sub in http.get("/api/webhooks").json()["webhooks"]}
        assert {alice_sub["id"], admin_sub["id"]} <= listed

    assert json.loads(alice_request.body)["job"]["id"] == alices_job["id"]
    assert len(alice_receiver.requests) == 1
    seen_by_admin = {json.loads(request.body)["job"]["id"] for request in admin_receiver.requests}
    assert seen_by_admin == {alices_job["id"], bobs_job["id"]}
