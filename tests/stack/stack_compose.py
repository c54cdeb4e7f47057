"""Run the real Docker Compose v2 binary on the repo's compose file, with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from stack_tools import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

# Stand-ins for the secrets an operator must set; they satisfy the file's `${VAR:?...}` checks.
TEST_SECRETS = {
    "MYSPINBOT_API_TOKEN": "stack-test-token-0123456789abcdef",
    "MYSPINBOT_SECRET_KEY": "stack-test-secret-key-0123456789abcdef",
    "GRAFANA_ADMIN_PASSWORD": "stack-test-grafana-password",
}

# Variables the compose file reads: removed from the inherited environment so that only the repo's
# .env and what a test passes decide the result, not the shell the tests run from.
_STACK_PREFIXES = ("MYSPINBOT_", "GRAFANA_", "COMPOSE_")


def compose_env(extra: Mapping[str, str] = TEST_SECRETS) -> dict[str, str]:
    """This process's environment without the stack's variables, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_STACK_PREFIXES)}
    env.update(extra)
    return env


def run_compose(binary: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `docker compose -f docker-compose.yml <args>` from the repo root (which holds .env)."""
    return subprocess.run(
        [str(binary), "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE), *args],
        env=dict(env) if env is not None else compose_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def resolved_config(binary: Path, *options: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file as Compose resolves it (interpolated, merged, profiles applied)."""
    result = run_compose(binary, *options, "config", "--format", "json", env=env)
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return cast(dict[str, Any], json.loads(result.stdout))


def command_option(command: list[str], flag: str) -> str | None:
    """The value after `flag` in an exec-form command, or None."""
    for index, arg in enumerate(command[:-1]):
        if arg == flag:
            return command[index + 1]
    return None
