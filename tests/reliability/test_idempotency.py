"""Idempotency-Key: a retried submission returns the first job, never a second one, within the window."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from myspinbot.worker.wire import broker_lists
from tests.kernel.test_errors import assert_error_shape
from tests.reliability.support import Figures, api_client, running_stack
from tests.support.processes import LiveStack

WINDOW_SECONDS = 2
PARALLEL = 10
SLEEPY = {"steps": 1, "step_seconds": 0}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Redis and an API that remembers keys for 2 s; no worker, so jobs stay as first written."""
    env = {"MYSPINBOT_IDEMPOTENCY_SECONDS": str(WINDOW_SECONDS)}
    with running_stack(tmp_path_factory.mktemp("idempotency"), env, worker=False) as live:
        yield live


@pytest.fixture
def api(stack: LiveStack) -> Iterator[httpx.Client]:
    with api_client(stack.api_url) as client:
        yield client


def job_count(stack: LiveStack) -> int:
    """Job records written so far (the store's index of every job)."""
    client = redis.Redis.from_url(stack.redis_url, protocol=2)
    try:
        return int(client.zcard("myspinbot:jobs:all"))
    finally:
        client.close()


def queued_messages(stack: LiveStack) -> int:
    """Celery messages waiting on the sleepy queue (no worker takes them here)."""
    client = redis.Redis.from_url(stack.redis_url, protocol=2)
    try:
        return sum(int(client.llen(name)) for name in broker_lists("sleepy"))
    finally:
        client.close()


def submit(api: httpx.Client, key: str | None, body: dict[str, object] | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/api/jobs/sleepy", json=SLEEPY if body is None else body, headers=headers)


def test_a_retry_with_the_same_key_returns_the_first_job(stack: LiveStack, api: httpx.Client) -> None:
    """The same key again answers the same status and body (even with other parameters); one job, one message."""
    key = uuid.uuid4().hex
    jobs, messages = job_count(stack), queued_messages(stack)
    first = submit(api, key)
    again = submit(api, key)
    changed = submit(api, key, {"steps": 3, "step_seconds": 0})
    assert first.status_code == again.status_code == changed.status_code == 202
    assert again.content == first.content and changed.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert (job_count(stack), queued_messages(stack)) == (jobs + 1, messages + 1)


def test_another_key_or_no_key_makes_another_job(stack: LiveStack, api: httpx.Client) -> None:
    """Distinct keys, and requests without a key, each make their own job."""
    jobs = job_count(stack)
    ids = {submit(api, key).json()["id"] for key in (uuid.uuid4().hex, uuid.uuid4().hex, None, None)}
    assert len(ids) == 4
    assert job_count(stack) == jobs + 4


def test_concurrent_retries_with_one_key_make_exactly_one_job(stack: LiveStack, figures: Figures) -> None:
    """Ten parallel requests with one key make one record and one message, and all get the same 202 body."""
    for _ in range(3):
        key = uuid.uuid4().hex
        jobs, messages = job_count(stack), queued_messages(stack)
        start = threading.Barrier(PARALLEL)

        def race(_: int, key: str = key, start: threading.Barrier = start) -> httpx.Response:
            with api_client(stack.api_url) as own:
                own.get("/health")  # connect first, so the submissions leave together
                start.wait(5)
                return submit(own, key)

        with ThreadPoolExecutor(PARALLEL) as pool:
            responses = list(pool.map(race, range(PARALLEL)))
        assert {response.status_code for response in responses} == {202}
        assert len({response.content for response in responses}) == 1
        assert (job_count(stack), queued_messages(stack)) == (jobs + 1, messages + 1)
        figures.add("idempotency.parallel_retries", PARALLEL)


def test_the_key_is_forgotten_after_the_window(stack: LiveStack, api: httpx.Client) -> None:
    """After MYSPINBOT_IDEMPOTENCY_SECONDS the same key makes a new job."""
    key = uuid.uuid4().hex
    first = submit(api, key).json()
    assert submit(api, key).json()["id"] == first["id"]
    time.sleep(WINDOW_SECONDS + 0.5)
    assert submit(api, key).json()["id"] != first["id"]


def test_a_refused_request_does_not_use_up_its_key(stack: LiveStack, api: httpx.Client) -> None:
    """A 422 with a key stores nothing under it: the corrected retry with that key makes the job."""
    key = uuid.uuid4().hex
    jobs = job_count(stack)
    bad = submit(api, key, {"steps": 0})
    assert bad.status_code == 422
    good = submit(api, key)
    assert good.status_code == 202
    assert job_count(stack) == jobs + 1


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "ünï", "a/b"])
def test_malformed_key_is_422_naming_the_header(api: httpx.Client, key: str) -> None:
    """A key that is empty, too long or has other characters is refused, naming Idempotency-Key."""
    response = api.post("/api/jobs/sleepy", json=SLEEPY, headers=[(b"Idempotency-Key", key.encode())])
    assert response.status_code == 422, response.text
    assert_error_shape(response.json(), 422)
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"
