"""Redis stopped under traffic: the API answers 503 quickly, recovers by itself, and loses no accepted job."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from myspinbot.cli.procs import wait_until
from tests.reliability.support import FAST_FAULTS, FINISHED, Figures, api_client, job_events, running_stack, wait_job
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow

# Longer than a worker heartbeat lives (3 x 1 s), so every heartbeat is stale when Redis returns.
OUTAGE_SECONDS = 4.0
HEARTBEAT = {"MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "1", "MYSPINBOT_MAINTENANCE_SECONDS": "0.25"}
REQUEST_INTERVAL = 0.05


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A stack whose Redis keeps an append-only file, so a restart brings every record back."""
    with running_stack(tmp_path_factory.mktemp("redis-outage"), {**FAST_FAULTS, **HEARTBEAT}) as live:
        yield live


@dataclass
class Traffic:
    """Submissions and health checks sent in a loop from a thread, each bounded by a client timeout."""

    base_url: str
    outage: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    slowest: float = 0.0
    thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self.thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(15)

    def _run(self) -> None:
        with api_client(self.base_url) as client:
            turn = 0
            while not self.stop.is_set():
                turn += 1
                phase = "outage" if self.outage.is_set() else "normal"
                self._send(client, phase, "submit", "POST", "/api/jobs/sleepy", {"steps": 4, "step_seconds": 0.05})
                if turn % 3 == 0:
                    self._send(client, phase, "health", "GET", "/health", None)
                    self._send(client, phase, "list", "GET", "/api/jobs?limit=5", None)
                time.sleep(REQUEST_INTERVAL)

    def _send(self, client: httpx.Client, phase: str, kind: str, method: str, path: str, body: object) -> None:
        started = time.monotonic()
        try:
            response = client.request(method, path, json=body)
        except httpx.HTTPError as error:
            self.errors.append(f"{kind} during {phase}: {type(error).__name__}: {error}")
            return
        finally:
            self.slowest = max(self.slowest, time.monotonic() - started)
        self.statuses[(phase, kind, response.status_code)] += 1
        if kind == "submit" and response.status_code == 202:
            self.accepted.append(response.json()["id"])
        elif response.status_code >= 500 and response.status_code != 503:
            self.errors.append(f"{kind} during {phase}: {response.status_code} {response.text[:200]}")
        elif response.status_code == 503 and kind != "health":
            code = response.json()["error"]["code"]
            if code not in ("store_unavailable", "broker_unavailable"):
                self.errors.append(f"{kind} during {phase}: 503 with code {code}")


def final_state(api: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The job once finished, or as last seen when it does not finish in time."""
    try:
        return wait_job(api, job_id, timeout=timeout)
    except TimeoutError:
        response = api.get(f"/api/jobs/{job_id}")
        return (
            response.json() if response.status_code == 200 else {"id": job_id, "state": f"HTTP {response.status_code}"}
        )


def health_status(client: httpx.Client) -> tuple[int, str]:
    response = client.get("/health")
    return response.status_code, response.json()["status"]


def test_redis_outage_gives_503_then_recovers_without_losing_an_accepted_job(
    stack: LiveStack, figures: Figures
) -> None:
    """Redis stopped 4 s under traffic: fast 503s, degraded health, recovery, and every 202 job finishes."""
    with api_client(stack.api_url) as api:
        running = [
            api.post("/api/jobs/sleepy", json={"steps": 20, "step_seconds": 0.25}).json()["id"] for _ in range(2)
        ]
        for job_id in running:
            wait_job(api, job_id, states=("running",), timeout=15)
        traffic = Traffic(stack.api_url).start()
        try:
            time.sleep(1.0)
            traffic.outage.set()
            stack.redis.stop()
            figures.add("faults.redis_stop")
            stopped_at = time.monotonic()
            wait_until(lambda: health_status(api) == (503, "degraded"), 5, what="/health to say degraded")
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
            stack.redis.start()
            traffic.outage.clear()
            restarted_at = time.monotonic()
            wait_until(lambda: health_status(api) == (200, "ok"), 15, what="/health to recover")
            recovery = time.monotonic() - restarted_at
            accepted_before = len(traffic.accepted)
            wait_until(lambda: len(traffic.accepted) > accepted_before + 5, 15, what="submissions to be accepted")
        finally:
            traffic.finish()

        assert not traffic.errors, traffic.errors[:5]
        assert traffic.slowest < 5.0, f"a request took {traffic.slowest:.1f}s"
        outage_codes = {code for (phase, kind, code) in traffic.statuses if phase == "outage" and kind == "submit"}
        assert 503 in outage_codes, traffic.statuses
        assert outage_codes <= {202, 503}, traffic.statuses

        accepted = [*running, *traffic.accepted]
        final = {job_id: final_state(api, job_id) for job_id in accepted}
        lost = [job_id for job_id, job in final.items() if job["state"] not in FINISHED]
        assert not lost, f"{len(lost)} accepted job(s) never finished: {[final[job_id] for job_id in lost[:3]]}"
        assert Counter(job["state"] for job in final.values()) == {"succeeded": len(accepted)}
        # The jobs running through the outage kept their worker: its heartbeat went stale while Redis was
        # away, but the reaper must not take that for a lost worker and re-queue them.
        for job_id in running:
            assert final[job_id]["attempts"] == 1, final[job_id]
            requeued = [event for event in job_events(stack, job_id) if "re-queued" in event["job"]["message"]]
            assert not requeued, f"job {job_id} of a live worker was re-queued after the outage"

        figures.set("redis_outage.seconds", OUTAGE_SECONDS)
        figures.set("redis_outage.recovery_seconds", round(recovery, 2))
        figures.set("redis_outage.slowest_request_seconds", round(traffic.slowest, 2))
        figures.set("redis_outage.requests", sum(traffic.statuses.values()))
        figures.set("redis_outage.503_answers", sum(n for (_, _, code), n in traffic.statuses.items() if code == 503))
        figures.set("redis_outage.accepted_jobs", len(accepted))
        figures.set("redis_outage.jobs_lost", len(lost))
        figures.job_outcomes(accepted=len(accepted), finished=len(accepted) - len(lost))
