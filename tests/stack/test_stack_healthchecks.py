"""The API container's health check command, run for real against a live API."""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from myspinbot.cli.procs import free_port

if TYPE_CHECKING:
    from tests.support.processes import LiveStack

IN_CONTAINER = "http://127.0.0.1:3000"


def api_check_against(stack: dict[str, Any], base_url: str) -> subprocess.CompletedProcess[str]:
    """Run the compose file's API health check (a CMD-SHELL `python -c` one-liner) aimed at `base_url`."""
    kind, command = stack["services"]["api"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and command.startswith("python -c ")
    assert IN_CONTAINER in command
    script = command.replace(IN_CONTAINER, base_url).replace("python", shlex.quote(sys.executable), 1)
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=False)


def test_api_health_check_passes_on_a_live_api(stack: dict[str, Any], live_stack: LiveStack) -> None:
    """Against a running API with Redis up, the health check exits 0."""
    result = api_check_against(stack, live_stack.api_url)
    assert result.returncode == 0, result.stderr


def test_api_health_check_fails_without_an_api(stack: dict[str, Any]) -> None:
    """With nothing listening, the health check exits non-zero."""
    result = api_check_against(stack, f"http://127.0.0.1:{free_port()}")
    assert result.returncode != 0
