"""The container engine of the tier: Podman installed and configured by the project's script, and
its Docker-compatible API served on a private socket by a process we start and stop by PID."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from myspinbot.cli.procs import wait_until
from tests.support.supervisor import LoggedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-container-engine.sh"
TOOLS = ("podman", "runc", "mmdebstrap")


class EngineError(RuntimeError):
    """The engine could not be installed, configured or started; the message says what to do."""


def missing_tools() -> list[str]:
    """The engine's tools not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def install_engine() -> None:
    """Install Podman, runc and mmdebstrap and write containers.conf (idempotent; needs root)."""
    result = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or missing_tools():
        raise EngineError(f"{INSTALL_SCRIPT.name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the podman CLI; raise with its output when it fails and `check` is set."""
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise EngineError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


def inspect(kind: str, name: str) -> dict[str, Any] | None:
    """`podman <kind> inspect NAME` as a dict, or None when there is no such object."""
    result = podman(kind, "inspect", name, check=False)
    if result.returncode != 0:
        return None
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found[0] if found else None


class ApiService:
    """`podman system service` serving the Docker API on a socket of ours, for Compose and Traefik."""

    def __init__(self, workdir: Path) -> None:
        self.socket = workdir / "podman.sock"
        # --time=0: never exit for idleness; the tier stops it by PID when it is done.
        argv = ["podman", "system", "service", "--time=0", f"unix://{self.socket}"]
        self.process = LoggedProcess(argv, {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, workdir / "podman-service.log")

    @property
    def url(self) -> str:
        """The DOCKER_HOST value that reaches this service."""
        return f"unix://{self.socket}"

    def start(self) -> ApiService:
        """Start the service and wait until it answers the Docker API's ping."""
        self.process.start()
        try:
            wait_until(self._pings, 30, what="podman's Docker API socket")
        except TimeoutError as error:
            self.stop()
            raise EngineError(f"podman system service did not answer:\n{self.process.log_tail()}") from error
        return self

    def _pings(self) -> bool:
        if not self.process.alive():
            raise EngineError(f"podman system service exited:\n{self.process.log_tail()}")
        if not self.socket.exists():
            return False
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=5) as client:
            return client.get("http://podman/_ping").text == "OK"

    def stop(self) -> None:
        """Stop the service by its PID."""
        self.process.stop(grace=10)
