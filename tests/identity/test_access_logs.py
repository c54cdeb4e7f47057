"""The API's access log never shows a key, a password or the bootstrap token (secrets go in headers and bodies)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from myspinbot.cli.procs import free_port, http_ok, wait_until
from tests.reliability.support import TOKEN, api_client, running_stack
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow
PASSWORD = "a secret passphrase"


def test_the_api_access_log_holds_no_secret(tmp_path: Path) -> None:
    """Login, keys in headers, a WS authenticated by header and by first frame, a wrong key: the API's
    log records the requests (method, path, status) and none of the secrets."""
    with running_stack(tmp_path, worker=False) as stack:
        port = free_port()
        # A second API on the same Redis, with uvicorn's access log on (the stack's runs without it).
        api = ServiceProcess(
            "api-logged", ["api", "--port", str(port), "--log-level", "info"], stack.env(), tmp_path / "logged"
        ).start()
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: http_ok(f"{base}/health"), 30, what="the logged API")
            key, session_key = exercise_secrets(base)
            log = api.log_path.read_text(errors="replace")
        finally:
            api.stop()
    assert "GET /api/jobs" in log and "POST /api/auth/login" in log  # the access log is on
    for secret in (key, session_key, PASSWORD, TOKEN):
        assert secret not in log


def exercise_secrets(api_url: str) -> tuple[str, str]:
    """Use every way a secret reaches the API; the member's API key and session key."""
    with api_client(api_url) as admin:
        assert admin.post("/api/users", json={"name": "logan", "role": "member", "password": PASSWORD}).is_success
        key = admin.post("/api/keys", json={"name": "log", "user": "logan"}).json()["key"]
    session = httpx.post(f"{api_url}/api/auth/login", json={"username": "logan", "password": PASSWORD})
    session_key = session.json()["key"]
    for secret in (key, session_key):
        assert httpx.get(f"{api_url}/api/jobs", headers={"Authorization": f"Bearer {secret}"}).is_success
    assert httpx.get(f"{api_url}/api/jobs", headers={"Authorization": "Bearer msb_wrong-0123456789"}).status_code == 401
    ws_url = api_url.replace("http://", "ws://") + "/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    with connect(ws_url) as ws:
        ws.send(json.dumps({"op": "auth", "key": session_key}))
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    return key, session_key
