"""The webhook routes in-process (real Redis): validation, SSRF refusals, secrets, the test ping, disabling."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from myspinbot.api.app import create_app
from myspinbot.core.settings import Settings
from tests.webhooks.receiver import running_receiver
from tests.webhooks.support import LOOPBACK_ENV, documented_verify, wait_delivery

WEBHOOK_ENV = (*LOOPBACK_ENV, "MYSPINBOT_PUBLIC_URL")


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No webhook settings: https only, no private address allowed."""
    for name in WEBHOOK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Receivers on 127.0.0.1 over http allowed, quick retries."""
    for name, value in LOOPBACK_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MYSPINBOT_PUBLIC_URL", "https://api.example.test/")


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The API in-process; subscriptions made by the test are deleted after it."""
    with TestClient(create_app(settings)) as client:
        yield client
        for subscription in client.get("/api/webhooks").json()["webhooks"]:
            client.delete(f"/api/webhooks/{subscription['id']}")


@pytest.mark.usefixtures("plain_env")
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hook", "only https:// receivers are allowed"),
        ("https://127.0.0.1:9/hook", "127.0.0.1, a loopback, private or link-local address"),
        ("https://10.1.2.3/hook", "MYSPINBOT_WEBHOOK_ALLOW_PRIVATE"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]:9/hook", "::1"),
        ("https://localhost/hook", "localhost resolves to"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("ftp://example.com/hook", "https://"),
    ],
)
def test_unsafe_urls_are_refused_without_the_settings(app_client: TestClient, url: str, says: str) -> None:
    """Loopback, private and link-local receivers, http and credentials are refused with a 422 naming `url`."""
    response = app_client.post("/api/webhooks", json={"url": url, "events": ["job.succeeded"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "url" and says in error["details"][0]["message"]
    assert url not in [sub["url"] for sub in app_client.get("/api/webhooks").json()["webhooks"]]


@pytest.mark.usefixtures("loopback_env")
def test_bad_events_and_job_types_are_named(app_client: TestClient) -> None:
    """Unknown events or job types answer 422 naming the field; nothing is stored."""
    bad_event = app_client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["job.exploded"]})
    assert bad_event.status_code == 422 and bad_event.json()["error"]["details"][0]["field"] == "events"
    bad_type = app_client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/", "job_types": ["nope"]})
    assert bad_type.status_code == 422 and "unknown job types" in bad_type.json()["error"]["details"][0]["message"]
    assert app_client.get("/api/webhooks").json()["webhooks"] == []
    missing = app_client.get("/api/webhooks/wh_missing/deliveries")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.usefixtures("loopback_env")
def test_secret_shown_once_and_test_ping_is_signed(app_client: TestClient) -> None:
    """The secret is in the 201 only; POST .../test sends a signed ping the recipe verifies."""
    with running_receiver() as receiver:
        created = app_client.post("/api/webhooks", json={"url": receiver.url, "events": ["job.failed"]})
        assert created.status_code == 201
        subscription = created.json()
        assert subscription["secret"].startswith("whsec_")
        listed = app_client.get("/api/webhooks").json()["webhooks"]
        assert [sub["id"] for sub in listed] == [subscription["id"]] and "secret" not in listed[0]
        ping = app_client.post(f"/api/webhooks/{subscription['id']}/test")
        assert ping.status_code == 202 and ping.json()["event"] == "ping"
        (request,) = receiver.wait_for(1)
        delivery = wait_delivery(app_client, subscription["id"])
    assert documented_verify()(subscription["secret"], request.headers, request.body)
    assert json.loads(request.body)["event"] == "ping" and delivery["id"] == ping.json()["id"]
    deleted = app_client.delete(f"/api/webhooks/{subscription['id']}")
    assert deleted.status_code == 204 and app_client.get(f"/api/webhooks/{subscription['id']}").status_code == 404


def test_a_name_resolving_to_a_private_address_at_delivery_is_refused_and_logged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription to `localhost` made while loopback was allowed is refused at delivery, after DNS."""
    for name, value in LOOPBACK_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MYSPINBOT_WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8,::1")
    with running_receiver() as receiver:
        with TestClient(create_app(settings)) as allowed:
            created = allowed.post("/api/webhooks", json={"url": f"http://localhost:{receiver.port}/hook"})
            assert created.status_code == 201, created.text
        subscription_id = created.json()["id"]
        # The same stored subscription, delivered by an API whose policy no longer allows loopback.
        monkeypatch.delenv("MYSPINBOT_WEBHOOK_ALLOW_PRIVATE")
        with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as strict:
            assert strict.post(f"/api/webhooks/{subscription_id}/test").status_code == 202
            delivery = wait_delivery(strict, subscription_id, state="failed")
            strict.delete(f"/api/webhooks/{subscription_id}")
        assert receiver.requests == []
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] is None and "refused: localhost resolves to" in attempt["error"]
    assert any("refused: localhost resolves to" in record.getMessage() for record in caplog.records)


def operations(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every documented route of an app."""
    return {(method, path) for path, item in app.openapi()["paths"].items() for method in item}


def test_disabling_the_plugin_removes_its_routes_and_nothing_else(settings: Settings) -> None:
    """MYSPINBOT_DISABLE_PLUGINS=webhooks: no /api/webhooks routes, every other route unchanged."""
    enabled = operations(create_app(settings))
    disabled_settings = settings.model_copy(update={"disable_plugins": ["webhooks"]})
    disabled = operations(create_app(disabled_settings))
    removed = enabled - disabled
    assert removed and all(path.startswith("/api/webhooks") for _, path in removed)
    assert disabled <= enabled
    with TestClient(create_app(disabled_settings)) as client:
        assert client.get("/api/webhooks").status_code == 404
        assert "webhooks" not in [plugin["name"] for plugin in client.get("/api/plugins").json()]
