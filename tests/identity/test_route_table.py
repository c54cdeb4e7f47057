"""Every route in the OpenAPI document, walked with no key and with each role's key: who gets what."""

from __future__ import annotations

import re
import uuid
from enum import Enum
from typing import Any

import pytest
from fastapi.testclient import TestClient

from myspinbot.core.settings import Settings
from tests.identity.support import People, Person
from tests.kernel.test_errors import assert_error_shape
from tests.support.jobs import wait_state
from tests.support.processes import ServiceProcess


class Policy(Enum):
    """Who may call a route."""

    PUBLIC = "anyone, no key"
    ANY_USER = "every authenticated user"
    ACTORS = "members and admins (viewers get 403)"
    ADMINS = "admins only (others get 403)"
    READ_JOB = "a job: its owner, viewers and admins; another member gets 404"
    ACT_JOB = "a job: its owner and admins; another member 404, a viewer 403"
    OWN_KEY = "a key: its owner and admins; others get 404"
    READ_BATCH = "a batch: its owner, viewers and admins; another member gets 404"
    ACT_BATCH = "a batch: its owner and admins; another member 404, a viewer 403"


# Every route the API documents. A route missing here fails the walk: decide who may call it.
POLICIES: dict[tuple[str, str], Policy] = {
    ("GET", "/health"): Policy.PUBLIC,
    ("POST", "/api/auth/login"): Policy.PUBLIC,
    ("GET", "/api/auth/me"): Policy.ANY_USER,
    ("POST", "/api/auth/logout"): Policy.ANY_USER,
    ("GET", "/api/plugins"): Policy.ANY_USER,
    ("GET", "/api/job-types"): Policy.ANY_USER,
    ("GET", "/api/jobs"): Policy.ANY_USER,
    ("POST", "/api/jobs/{job_type}"): Policy.ACTORS,
    ("POST", "/api/train"): Policy.ACTORS,
    ("POST", "/api/generate"): Policy.ACTORS,
    ("GET", "/api/jobs/{job_id}"): Policy.READ_JOB,
    ("GET", "/api/status/{job_id}"): Policy.READ_JOB,
    ("GET", "/api/jobs/{job_id}/artifacts"): Policy.READ_JOB,
    ("GET", "/api/jobs/{job_id}/artifacts/{name}"): Policy.READ_JOB,
    ("POST", "/api/jobs/{job_id}/cancel"): Policy.ACT_JOB,
    ("GET", "/api/keys"): Policy.ANY_USER,
    ("POST", "/api/keys"): Policy.ANY_USER,
    ("DELETE", "/api/keys/{key_id}"): Policy.OWN_KEY,
    ("GET", "/api/users"): Policy.ADMINS,
    ("POST", "/api/users"): Policy.ADMINS,
    ("GET", "/api/users/{name}"): Policy.ADMINS,
    ("PATCH", "/api/users/{name}"): Policy.ADMINS,
    ("DELETE", "/api/users/{name}"): Policy.ADMINS,
    ("DELETE", "/api/users/{name}/keys"): Policy.ADMINS,
    # telemetry (kernel)
    ("GET", "/api/jobs/{job_id}/metrics"): Policy.READ_JOB,
    ("GET", "/api/jobs/{job_id}/logs"): Policy.READ_JOB,
    ("GET", "/api/jobs/{job_id}/preview"): Policy.READ_JOB,
    # queue control (kernel): reading is for everyone, changing queues or priorities for admins
    ("GET", "/api/queues"): Policy.ANY_USER,
    ("GET", "/api/workers"): Policy.ANY_USER,
    ("POST", "/api/queues/{queue}/pause"): Policy.ADMINS,
    ("POST", "/api/queues/{queue}/resume"): Policy.ADMINS,
    ("POST", "/api/jobs/{job_id}/priority"): Policy.ADMINS,
    # retry, clone and batches (kernel)
    ("POST", "/api/jobs/{job_id}/retry"): Policy.ACT_JOB,
    ("POST", "/api/jobs/{job_id}/clone"): Policy.ACT_JOB,
    ("POST", "/api/batches/{job_type}"): Policy.ACTORS,
    ("GET", "/api/batches/{batch_id}"): Policy.READ_BATCH,
    ("POST", "/api/batches/{batch_id}/cancel"): Policy.ACT_BATCH,
    # webhooks plugin: a member's subscription fires for its own jobs and another member's is a 404
    # (tests/webhooks/test_delivery_live.py); an admin's fires for every job; viewers get 403
    ("GET", "/api/webhooks"): Policy.ACTORS,
    ("POST", "/api/webhooks"): Policy.ACTORS,
    ("GET", "/api/webhooks/{subscription_id}"): Policy.ACTORS,
    ("DELETE", "/api/webhooks/{subscription_id}"): Policy.ACTORS,
    ("GET", "/api/webhooks/{subscription_id}/deliveries"): Policy.ACTORS,
    ("POST", "/api/webhooks/{subscription_id}/test"): Policy.ACTORS,
}
# Request bodies that get past validation, so a 4xx means a refusal and not a malformed call.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/jobs/{job_type}"): {"steps": 1, "step_seconds": 0},
    ("POST", "/api/keys"): {"name": "route walk"},
    ("PATCH", "/api/users/{name}"): {"role": "viewer"},
    ("POST", "/api/jobs/{job_id}/priority"): {"priority": "high"},
    ("POST", "/api/batches/{job_type}"): {"params": [{"steps": 1, "step_seconds": 0}]},
}
DENIED = {401, 403}


def documented_routes(api: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document."""
    document = api.get("/openapi.json").json()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def fill(path: str, values: dict[str, str]) -> str:
    """The path with its {parameters} replaced by sample values."""
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], path)


def body_for(method: str, path: str) -> Any:
    """A valid body for the route (a fresh user name where one is made)."""
    if (method, path) == ("POST", "/api/users"):
        return {"name": f"walk-{uuid.uuid4().hex[:8]}", "role": "viewer"}
    return BODIES.get((method, path), {})


def call(api: TestClient, method: str, path: str, url: str, person: Person | None) -> Any:
    """One call of a route as `person` (None: with no key)."""
    headers = person.headers if person else {}
    return api.request(method, url, headers=headers, json=body_for(method, path))


@pytest.fixture
def alice_job(api: TestClient, people: People, worker: ServiceProcess) -> str:
    """A finished job of alice's with an artifact `out.txt`."""
    submitted = api.post("/api/jobs/writer", json={"text": "alice's"}, headers=people.alice.headers)
    assert submitted.status_code == 202, submitted.text
    job_id: str = submitted.json()["id"]
    api.headers.update(people.admin.headers)  # wait_state polls as the admin
    assert wait_state(api, job_id)["state"] == "succeeded"
    api.headers.pop("Authorization")
    return job_id


def test_every_documented_route_is_guarded_by_its_policy(
    api: TestClient, people: People, alice_job: str, auth_settings: Settings
) -> None:
    """Walk the OpenAPI document: no key gets 401 (but the public few); each role gets what its policy says;
    another member's job is a 404 like a missing one, so ids cannot be probed."""
    routes = documented_routes(api)
    unclassified = sorted(set(routes) - set(POLICIES))
    assert not unclassified, f"routes without a policy in POLICIES (decide who may call them): {unclassified}"
    spare_key = api.post("/api/keys", json={"name": "to revoke"}, headers=people.alice.headers).json()["record"]["id"]
    batch = api.post("/api/batches/writer", json={"params": [{"text": "a"}]}, headers=people.alice.headers)
    assert batch.status_code == 202, batch.text
    values = {
        "batch_id": batch.json()["id"],
        "job_id": alice_job,
        "job_type": "sleepy",
        "name": "out.txt",
        "key_id": spare_key,
        "subscription_id": "0123456789abcdef",
        "queue": "sleepy",
    }
    walked: dict[Policy, int] = {}
    for method, path in sorted(routes, key=lambda route: route == ("POST", "/api/auth/logout")):
        policy = POLICIES[(method, path)]
        walked[policy] = walked.get(policy, 0) + 1
        url = fill(path, {**values, "name": values["name"] if "artifacts" in path else "nobody-here"})
        where = f"{method} {path}"
        if policy is Policy.PUBLIC:
            assert call(api, method, path, url, None).status_code not in DENIED, where
            continue
        anonymous = call(api, method, path, url, None)
        assert anonymous.status_code == 401, (where, anonymous.text)
        assert_error_shape(anonymous.json(), 401, "unauthorized")
        if (method, path) == ("POST", "/api/auth/logout"):
            check_logout(api, people)
            continue
        check_policy(api, people, policy, method, path, url)
    assert set(walked) == set(Policy), f"every policy is exercised: {walked}"


def check_policy(api: TestClient, people: People, policy: Policy, method: str, path: str, url: str) -> None:
    """The answers of one route to each role under its policy."""
    where = f"{method} {path}"

    def status(person: Person) -> int:
        return int(call(api, method, path, url, person).status_code)

    if policy is Policy.ANY_USER:
        for person in people.everyone:
            assert status(person) not in DENIED, (where, person.role)
    elif policy is Policy.ACTORS:
        assert status(people.viewer) == 403, where
        assert status(people.alice) not in DENIED, where
        assert status(people.admin) not in DENIED, where
    elif policy is Policy.ADMINS:
        for person in (people.alice, people.bob, people.viewer):
            answer = call(api, method, path, url, person)
            assert answer.status_code == 403, (where, person.role, answer.text)
            assert_error_shape(answer.json(), 403, "forbidden")
        assert status(people.admin) not in DENIED, where
    elif policy is Policy.READ_JOB:
        other = call(api, method, path, url, people.bob)
        assert other.status_code == 404 and other.json()["error"]["code"] == "job_not_found", (where, other.text)
        for person in (people.alice, people.viewer, people.admin):  # reached (a preview may be absent: 404)
            answer = call(api, method, path, url, person)
            assert answer.status_code not in DENIED, (where, person.role, answer.text)
            assert answer.status_code < 400 or answer.json()["error"]["code"] != "job_not_found", (where, person.role)
    elif policy is Policy.READ_BATCH:
        assert status(people.bob) == 404, where
        for person in (people.alice, people.viewer, people.admin):
            assert status(person) == 200, (where, person.role)
    elif policy is Policy.ACT_BATCH:
        assert status(people.bob) == 404, where
        assert status(people.viewer) == 403, where
        for person in (people.alice, people.admin):
            assert status(person) == 200, (where, person.role)
    elif policy is Policy.ACT_JOB:
        other = call(api, method, path, url, people.bob)
        assert other.status_code == 404 and other.json()["error"]["code"] == "job_not_found", (where, other.text)
        assert status(people.viewer) == 403, where
        for person in (people.alice, people.admin):  # the job is finished: reached, then refused by state
            assert status(person) not in {*DENIED, 404}, (where, person.role)
    elif policy is Policy.OWN_KEY:
        for person in (people.bob, people.viewer):
            assert status(person) == 404, (where, person.role)
        assert status(people.alice) == 204, where


def check_logout(api: TestClient, people: People) -> None:
    """Logout revokes the key it came with, whoever calls it (each with a fresh session)."""
    for person in people.everyone:
        login = api.post("/api/auth/login", json={"username": person.name, "password": person.password})
        assert login.status_code == 200, login.text
        session = {"Authorization": f"Bearer {login.json()['key']}"}
        assert api.post("/api/auth/logout", headers=session).status_code == 204
        assert api.get("/api/auth/me", headers=session).status_code == 401
        assert api.get("/api/auth/me", headers=person.headers).status_code == 200
