"""The stack used as a user uses it: only through Traefik's published HTTPS port, by host name."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from myspinbot_client import JobEvent
from tests.containers.jobs import job_events, ran_on, submit_generate, submit_train
from tests.containers.stack import DOMAIN, ComposeStack
from tests.containers.through_traefik import UI_HOST, api_client, api_url, raw_get, ui_url
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, DashboardPage, chromium_available, poll

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "containers"


def test_health_through_traefik(compose_stack: ComposeStack) -> None:
    """GET https://api.<domain>/health answers ok, with Redis reachable and both workers online."""
    with api_client(compose_stack) as api:
        health = api.health()
    assert health.ok, health
    assert health.checks["redis"]["status"] == "ok"
    assert health.checks["workers"]["online"] >= 2


def test_metrics_and_unknown_hosts_are_not_reachable_from_outside(compose_stack: ComposeStack) -> None:
    """/metrics is not routed (404), nor is a host Traefik does not know; the API wants its token."""
    for path in ("/metrics", "/metrics/", "/metrics?format=text"):
        response = raw_get(api_url(compose_stack) + path)
        assert response.status_code == 404, (path, response.status_code)
        assert "myspinbot_jobs_submitted_total" not in response.text
    assert raw_get(f"https://unknown.{DOMAIN}:{compose_stack.https_port}/health").status_code == 404
    assert raw_get(api_url(compose_stack) + "/api/jobs", token=False).status_code == 401


def test_plain_http_is_redirected_to_https(compose_stack: ComposeStack) -> None:
    """The web entrypoint answers with a permanent redirect to https for the same host."""
    response = raw_get(f"http://api.{DOMAIN}:{compose_stack.http_port}/health")
    assert response.status_code in (301, 308), response.status_code
    assert response.headers["location"].startswith(f"https://api.{DOMAIN}")


def test_generate_and_train_jobs_run_in_the_worker_containers(compose_stack: ComposeStack, tmp_path: Path) -> None:
    """Both job types run to succeeded in worker containers; their artifacts download whole through Traefik."""
    with api_client(compose_stack) as api:
        generate = submit_generate(api)
        train = submit_train(api, tmp_path / "dataset")
        done = {job.id: api.wait(job.id, timeout=120) for job in (generate, train)}
        for job in done.values():
            assert job.state.value == "succeeded", (job.type, job.error)
            assert ran_on(compose_stack, job) in {"worker", "worker-train"}
        files = {job.type: api.download(job.id, tmp_path / job.type) for job in done.values()}
    by_name = {path.name: path for paths in files.values() for path in paths}
    assert {"preview.webp", "generation.json"} <= set(by_name), sorted(by_name)
    assert by_name["preview.webp"].read_bytes()[:4] == b"RIFF"
    lora = by_name["sksdog.safetensors"].read_bytes()
    (length,) = struct.unpack("<Q", lora[:8])
    assert json.loads(lora[8 : 8 + length])["__metadata__"]["ss_network_dim"] == "4"
    for job in done.values():
        sizes = {artifact.name: artifact.size for artifact in job.artifacts}
        assert all(by_name[name].stat().st_size == size for name, size in sizes.items())


def test_the_event_stream_through_traefik(compose_stack: ComposeStack) -> None:
    """A WS client on wss://api.<domain>/ws sees a job's every state change in order, progress never going back."""
    events: list[JobEvent] = []
    submitted: list[str] = []
    with api_client(compose_stack) as api:

        def submit_once(_: str) -> None:
            if not submitted:
                submitted.append(submit_generate(api, "stream through traefik").id)

        for event in api.watch(None, stop_when_finished=False, timeout=120, on_connect=submit_once):
            events.append(event)
            if submitted and event.job.id == submitted[0] and event.job.state.value in {"succeeded", "failed"}:
                break
    mine = job_events(events, submitted[0])
    names = [event.event for event in mine]
    assert names[0] == "job.queued" and names[1] == "job.started" and names[-1] == "job.succeeded", names
    assert set(names[2:-1]) <= {"job.progress", "job.metric", "job.log", "job.artifact", "job.preview"}
    progress = [event.job.progress for event in mine]
    assert progress == sorted(progress) and progress[-1] == 1.0


DASHBOARD_USER = ("dana", "a dashboard passphrase through traefik")


def test_the_dashboard_refuses_anonymous_requests_through_traefik(compose_stack: ComposeStack) -> None:
    """https://ui.<domain> without a login: the page goes to /login, the rest is 401, and the stack's
    bearer token opens nothing there (the dashboard takes logins only). A login works, with a Secure cookie
    (the dashboard trusts Traefik's X-Forwarded-Proto)."""
    base = ui_url(compose_stack)
    page = httpx.get(base + "/", headers={"accept": "text/html"}, verify=False, timeout=30)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    for path in ("/", "/main.dart.js", "/artifacts/0123456789abcdef/preview.webp"):
        assert raw_get(base + path).status_code == 401, path  # even with the API token sent along
    login_page = raw_get(base + "/login", token=False)
    assert login_page.status_code == 200 and 'name="password"' in login_page.text
    with api_client(compose_stack) as api:
        if DASHBOARD_USER[0] not in {user.name for user in api.users()}:
            api.add_user(DASHBOARD_USER[0], "admin", DASHBOARD_USER[1])
    answer = httpx.post(
        base + "/login",
        data={"username": DASHBOARD_USER[0], "password": DASHBOARD_USER[1]},
        headers={"origin": base},
        verify=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie, cookie
    jar = {"myspinbot_session": answer.cookies["myspinbot_session"]}
    shown = httpx.get(base + "/", cookies=jar, headers={"accept": "text/html"}, verify=False, timeout=30)
    assert shown.status_code == 200


def test_the_dashboard_page_through_traefik(compose_stack: ComposeStack) -> None:
    """https://ui.<domain> serves the Flet dashboard after a login, which lists a job it read from the API container."""
    if not chromium_available():
        pytest.fail("chromium is required (scripts/install-system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with api_client(compose_stack) as api:
        job = api.wait(submit_generate(api, "seen on the dashboard").id, timeout=120)
        if DASHBOARD_USER[0] not in {user.name for user in api.users()}:
            api.add_user(DASHBOARD_USER[0], "admin", DASHBOARD_USER[1])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Chromium resolves the dashboard's host name itself: map it to Traefik's loopback port.
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {UI_HOST} 127.0.0.1"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(ignore_https_errors=True, viewport={"width": 1366, "height": 900})
            ui = DashboardPage(page, ui_url(compose_stack), SCREENSHOTS)
            with ui.screenshot_on_failure():
                ui.open(*DASHBOARD_USER)
                poll(lambda: ui.row(job.id[:8]).count() > 0, 60, f"job {job.id[:8]} listed on the dashboard")
                assert re.search(r"step (\d+)/\1 · done", ui.row_text(job.id[:8])), ui.row_text(job.id[:8])
                assert ui.ws_frames, "the page's live connection (Flet's WebSocket through Traefik) sent nothing"
                ui.shot("dashboard-through-traefik")
        finally:
            browser.close()


def prometheus_get(stack: ComposeStack, path: str) -> Any:
    """GET a Prometheus API path from inside its container (it publishes no port)."""
    return json.loads(stack.exec("prometheus", "wget", "-q", "-O", "-", f"http://127.0.0.1:9090{path}"))


def test_prometheus_scrapes_every_api_replica(compose_stack: ComposeStack) -> None:
    """The Prometheus container finds both API replicas by DNS and scrapes each with its target up."""

    def targets_up() -> list[dict[str, Any]] | None:
        active = prometheus_get(compose_stack, "/api/v1/targets?state=active")["data"]["activeTargets"]
        api = [target for target in active if target["labels"]["job"] == "myspinbot-api"]
        return api if len(api) == 2 and all(target["health"] == "up" for target in api) else None

    targets = poll(targets_up, 90, "both API replicas scraped with health up")
    replica_ips = {
        network["IPAddress"]
        for container in compose_stack.containers("api")
        for name, network in container["NetworkSettings"]["Networks"].items()
        if name.endswith("_monitoring-network")
    }
    assert {target["labels"]["instance"].rsplit(":", 1)[0] for target in targets} == replica_ips
    query = prometheus_get(compose_stack, "/api/v1/query?query=myspinbot_jobs_submitted_total")
    assert query["data"]["result"], "no job counter scraped yet"
