"""The dashboard's own HTTP routes (artifacts through the server, health) and the `myspinbot ui` command.

The live stack here runs with auth off (loopback, no token), so the dashboard is open as the
API's local admin; tests/ui/test_login.py covers the dashboard with auth on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from myspinbot.cli.main import build_parser
from myspinbot.cli.procs import free_port
from myspinbot_client import AsyncMySpinBotClient, Job, JobState
from myspinbot_ui import cli
from myspinbot_ui.artifacts import artifact_href, content_disposition
from myspinbot_ui.config import ConfigError, UiConfig
from myspinbot_ui.server import create_app
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow


@pytest.fixture
async def dashboard_http(live_stack: LiveStack, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard's ASGI app, in process, reaching the live stack's API."""
    app = create_app(UiConfig(api_url=live_stack.api_url, upload_dir=tmp_path / "uploads"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard") as http:
        yield http


@pytest.fixture
async def generated(live_stack: LiveStack) -> Job:
    """A finished generate job with its artifacts."""
    async with AsyncMySpinBotClient(live_stack.api_url) as api:
        job = await api.submit(
            "generate", {"prompt": "a fox", "num_frames": 5, "width": 128, "height": 128, "num_inference_steps": 2}
        )
        done = await asyncio.wait_for(api.wait(job.id), 60)
    assert done.state is JobState.SUCCEEDED
    return done


async def test_artifacts_come_through_the_dashboard(dashboard_http: httpx.AsyncClient, generated: Job) -> None:
    """A preview is relayed inline with its type and size; `?download=1` makes any artifact a download."""
    preview = next(artifact for artifact in generated.artifacts if artifact.content_type.startswith("image/"))
    shown = await dashboard_http.get(artifact_href(generated.id, preview.name))
    assert shown.status_code == 200
    assert shown.headers["content-type"] == preview.content_type
    assert shown.headers["content-length"] == str(preview.size) and len(shown.content) == preview.size
    # The artifact route's own `sandbox` policy, enforced together with the dashboard-wide one
    # (a browser applies every Content-Security-Policy header it gets).
    policies = [policy.strip() for policy in shown.headers.get_list("content-security-policy")]
    assert "sandbox" in policies and any(policy.startswith("default-src") for policy in policies), policies
    assert "attachment" not in shown.headers.get("content-disposition", "")
    saved = await dashboard_http.get(artifact_href(generated.id, "generation.json", download=True))
    assert saved.status_code == 200
    assert saved.headers["content-disposition"].startswith("attachment")


async def test_only_artifacts_are_reachable(dashboard_http: httpx.AsyncClient, generated: Job) -> None:
    """Unknown artifacts are 404 in the common error shape; odd ids never reach the API."""
    missing = await dashboard_http.get(artifact_href(generated.id, "nope.bin"))
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == 404
    odd = await dashboard_http.get("/artifacts/not.an.id/preview.webp")
    assert odd.status_code == 404 and odd.json()["error"]["code"] == "not_found"
    # Encoded slashes do not escape the route: what is left is the web app's page, not the API.
    sneaky = await dashboard_http.get("/artifacts/..%2F..%2Fapi%2Fplugins/x")
    assert sneaky.headers["content-type"].startswith("text/html")


async def test_an_unreachable_api_keeps_the_dashboard_closed(tmp_path: Path) -> None:
    """With the API away the dashboard cannot learn whether auth is off: it fails closed (401, the login page)."""
    app = create_app(UiConfig(api_url=f"http://127.0.0.1:{free_port()}", upload_dir=tmp_path / "uploads"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dashboard") as http:
        answer = await http.get(artifact_href("a" * 32, "preview.webp"))
        page = await http.get("/", headers={"accept": "text/html"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert page.status_code == 303 and page.headers["location"] == "/login"


async def test_a_revalidated_page_keeps_its_policy(dashboard_http: httpx.AsyncClient) -> None:
    """A 304 for the page carries no Content-Security-Policy: a browser would let a hash-less policy
    replace the cached page's own, blocking its inline scripts (a reload stayed on Flet's logo)."""
    page = await dashboard_http.get("/")
    assert "sha256-" in page.headers["content-security-policy"]
    again = await dashboard_http.get("/", headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers


def test_download_names_are_quoted_for_the_header() -> None:
    """A plain name is given as is; any other is percent-encoded as UTF-8 (RFC 6266)."""
    assert content_disposition("lora.safetensors") == 'attachment; filename="lora.safetensors"'
    assert content_disposition('renard "roux".png') == "attachment; filename*=utf-8''renard%20%22roux%22.png"


async def test_the_dashboard_says_it_is_up(dashboard_http: httpx.AsyncClient, live_stack: LiveStack) -> None:
    """`/healthz` answers without the API's help (for container health checks), with login counts."""
    answer = await dashboard_http.get("/healthz")
    assert answer.json() == {
        "status": "ok",
        "api_url": live_stack.api_url,
        "sessions": 0,
        "logins": {"ok": 0, "refused": 0, "throttled": 0, "failed": 0},
    }


def test_the_ui_command_is_added_to_the_cli() -> None:
    """`myspinbot ui` comes from this distribution's entry point, with --host and --port."""
    args = build_parser().parse_args(["--env-file", "/dev/null", "ui", "--port", "3999"])
    assert args.func is cli.run
    assert (args.host, args.port) == ("127.0.0.1", 3999)


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    """API URL and token from MYSPINBOT_*, the token kept out of the repr; bad numbers are refused."""
    env = {
        "MYSPINBOT_API_URL": "api:3000/",
        "MYSPINBOT_API_TOKEN": "s3cret",
        "MYSPINBOT_UI_UPLOAD_DIR": str(tmp_path),
        "MYSPINBOT_UI_PAGE_SIZE": "50",
    }
    config = UiConfig.from_env(env, port=4000)
    assert (config.api_url, config.api_token, config.port, config.page_size) == ("http://api:3000", "s3cret", 4000, 50)
    assert config.upload_dir == tmp_path and not config.remove_upload_dir
    assert "s3cret" not in repr(config)
    with pytest.raises(ConfigError, match="MYSPINBOT_UI_PAGE_SIZE"):
        UiConfig.from_env({**env, "MYSPINBOT_UI_PAGE_SIZE": "lots"})
