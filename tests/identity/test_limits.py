"""Storms of wrong passwords or keys slow down, then get 429 with Retry-After; the per-user cap on active jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from tests.identity.support import People, add_person
from tests.kernel.test_errors import assert_error_shape
from tests.support.processes import ServiceProcess


def metric_value(text: str, series: str) -> float:
    """The value of one series in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_a_wrong_password_storm_gets_429_with_retry_after(
    api: TestClient, people: People, auth_settings: Settings
) -> None:
    """After MYSPINBOT_AUTH_MAX_FAILURES wrong passwords for one user, even the right one is refused with 429."""
    login = {"username": people.bob.name, "password": "not the password"}
    statuses = [api.post("/api/auth/login", json=login).status_code for _ in range(auth_settings.auth_max_failures)]
    assert statuses == [401] * auth_settings.auth_max_failures
    refused = api.post("/api/auth/login", json={**login, "password": people.bob.password})
    assert refused.status_code == 429
    assert_error_shape(refused.json(), 429, "too_many_attempts")
    assert 1 <= int(refused.headers["retry-after"]) <= auth_settings.auth_failure_window_seconds
    assert people.bob.password not in refused.text
    # Keys are not passwords: bob's valid API key still works during the storm.
    assert api.get("/api/auth/me", headers=people.bob.headers).status_code == 200
    # /metrics counts both, with reasons as labels and nothing secret (no user name, no password).
    metrics = api.get("/metrics").text
    assert metric_value(metrics, 'myspinbot_auth_failures_total{reason="password"}') >= auth_settings.auth_max_failures
    assert metric_value(metrics, 'myspinbot_auth_throttled_total{scope="user"}') >= 1
    assert people.bob.name not in metrics and people.bob.password not in metrics


def test_a_wrong_key_storm_gets_429_and_valid_keys_still_pass(
    api: TestClient, people: People, auth_settings: Settings
) -> None:
    """Wrong keys from one address: 401s, then 429 with Retry-After; a valid key from it is still served."""
    wrong = {"Authorization": "Bearer msb_not-a-key-of-anyone-at-all-0123456789"}
    statuses = [api.get("/api/jobs", headers=wrong).status_code for _ in range(auth_settings.auth_max_failures + 1)]
    assert statuses[: auth_settings.auth_max_failures] == [401] * auth_settings.auth_max_failures
    assert statuses[-1] == 429
    refused = api.get("/api/jobs", headers=wrong)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert api.get("/api/jobs", headers=people.alice.headers).status_code == 200


@pytest.fixture
def capped(auth_settings: Settings) -> Iterator[TestClient]:
    """The API with MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER=2."""
    with TestClient(create_app(auth_settings.model_copy(update={"max_active_jobs_per_user": 2}))) as client:
        yield client


def test_the_per_user_cap_answers_429_naming_the_cap(capped: TestClient, worker: ServiceProcess) -> None:
    """A member with 2 active jobs gets 429 naming MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER; others are unaffected;
    a cancelled job frees a slot. The refused request leaves no job."""
    member, other = add_person(capped, "member", "capped"), add_person(capped, "member", "free")
    long_job = {"steps": 400, "step_seconds": 0.05}
    first = [capped.post("/api/jobs/sleepy", json=long_job, headers=member.headers) for _ in range(2)]
    assert [response.status_code for response in first] == [202, 202]
    refused = capped.post("/api/jobs/sleepy", json=long_job, headers=member.headers)
    assert refused.status_code == 429
    assert_error_shape(refused.json(), 429, "too_many_active_jobs")
    assert "MYSPINBOT_MAX_ACTIVE_JOBS_PER_USER" in refused.json()["error"]["message"]
    assert "2" in refused.json()["error"]["message"]
    listed = capped.get("/api/jobs", headers=member.headers).json()["jobs"]
    assert len(listed) == 2
    others = capped.post("/api/jobs/sleepy", json=long_job, headers=other.headers)
    assert others.status_code == 202
    for response in first:
        assert capped.post(f"/api/jobs/{response.json()['id']}/cancel", headers=member.headers).status_code == 200
    from myspinbot.cli.procs import wait_until

    def slot_free() -> bool:
        return (
            capped.post("/api/jobs/sleepy", json={"steps": 1, "step_seconds": 0}, headers=member.headers).status_code
            == 202
        )

    wait_until(slot_free, 30, what="a slot after cancelling")
    # Not left running for its 20 s: a later test's `myspinbot_jobs_running` would count it.
    assert capped.post(f"/api/jobs/{others.json()['id']}/cancel", headers=other.headers).status_code == 200
