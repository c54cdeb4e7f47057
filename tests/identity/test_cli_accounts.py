"""`myspinbot users` and `myspinbot keys`: the operator's commands on the identity store, seen by the real API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from myspinbot.core.settings import Settings


def myspinbot(settings: Settings, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the CLI against the test Redis (no env file of the repo read)."""
    env = {**os.environ, "MYSPINBOT_REDIS_URL": settings.redis_url, "MYSPINBOT_API_TOKEN": ""}
    return subprocess.run(
        [sys.executable, "-m", "myspinbot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_users_and_keys_commands_manage_what_the_api_accepts(
    api: TestClient, auth_settings: Settings, tmp_path: Path
) -> None:
    """users add (password from stdin, never argv), keys create (printed once), role, list, revoke, remove."""
    name = f"cli-{uuid.uuid4().hex[:8]}"
    added = myspinbot(auth_settings, tmp_path, "users", "add", name, "--password", stdin="a long passphrase\n")
    assert added.returncode == 0, added.stderr
    again = myspinbot(auth_settings, tmp_path, "users", "add", name)
    assert again.returncode == 1 and "already exists" in again.stderr
    made = myspinbot(auth_settings, tmp_path, "keys", "create", name, "--name", "ci")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/auth/me", headers=headers).json()["role"] == "member"
    login = api.post("/api/auth/login", json={"username": name, "password": "a long passphrase"})
    assert login.status_code == 200
    assert myspinbot(auth_settings, tmp_path, "users", "role", name, "viewer").returncode == 0
    assert api.get("/api/auth/me", headers=headers).json()["role"] == "viewer"
    listed = myspinbot(auth_settings, tmp_path, "users", "list", "--json")
    assert any(user["name"] == name and user["role"] == "viewer" for user in json.loads(listed.stdout))
    keys = myspinbot(auth_settings, tmp_path, "keys", "list", name)
    key_id = next(line.split()[0] for line in keys.stdout.splitlines() if " ci " in f" {line} ")
    assert key not in keys.stdout
    assert myspinbot(auth_settings, tmp_path, "keys", "revoke", key_id).returncode == 0
    assert api.get("/api/auth/me", headers=headers).status_code == 401
    bad = myspinbot(auth_settings, tmp_path, "users", "add", "Not Valid")
    assert bad.returncode == 2 and "name:" in bad.stderr
    assert myspinbot(auth_settings, tmp_path, "users", "remove", name).returncode == 0
    assert api.post("/api/auth/login", json={"username": name, "password": "a long passphrase"}).status_code == 401
