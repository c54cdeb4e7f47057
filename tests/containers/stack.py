"""The project's docker-compose.yml (plus the tier's one override) run by the real Compose v2
binary against Podman's Docker API: bring up, inspect, fault, and tear everything down."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.containers.engine import REPO_ROOT, EngineError, podman

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
OVERRIDE_FILE = REPO_ROOT / "tests" / "containers" / "compose.override.yml"
API_TOKEN = "containers-tier-token-0123456789abcdef"
DOMAIN = "myspinbot.local"
# Grafana has no local stand-in (see the override file); redisinsight is an optional tool.
SERVICES = ("traefik", "redis", "api", "worker", "worker-train", "ui", "prometheus")
# The variables the compose file reads: only ours count, not the shell's.
_STACK_PREFIXES = ("MYSPINBOT_", "GRAFANA_", "COMPOSE_", "DOCKER_")


@dataclass
class ComposeStack:
    """One compose project on the engine: its name, published ports and the Compose binary."""

    compose_bin: Path
    docker_host: str  # unix://... of Podman's Docker API
    socket_path: str
    project: str
    https_port: int
    http_port: int
    step_seconds: float = 0.2
    api_replicas: int = 2
    started: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The environment Compose runs with: .env's defaults overridden for this test machine."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(_STACK_PREFIXES)}
        env.update(
            DOCKER_HOST=self.docker_host,
            MYSPINBOT_API_TOKEN=API_TOKEN,
            MYSPINBOT_SECRET_KEY="containers-tier-secret-key-0123456789",
            GRAFANA_ADMIN_PASSWORD="containers-tier-grafana-unused",
            MYSPINBOT_DOMAIN=DOMAIN,
            # Published on loopback only: nothing outside this machine reaches the test stack.
            MYSPINBOT_HTTPS_PORT=f"127.0.0.1:{self.https_port}",
            MYSPINBOT_HTTP_PORT=f"127.0.0.1:{self.http_port}",
            MYSPINBOT_DOCKER_SOCKET=self.socket_path,
            MYSPINBOT_MOCK_STEP_SECONDS=str(self.step_seconds),
            MYSPINBOT_WORKER_QUEUES="generate",  # worker-train (profile split-queues) serves train
            MYSPINBOT_WORKER_CONCURRENCY="1",
        )
        return env

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `docker compose -f docker-compose.yml -f <override> -p <project> <args>`."""
        argv = [
            str(self.compose_bin),
            "--project-directory",
            str(REPO_ROOT),
            "-f",
            str(COMPOSE_FILE),
            "-f",
            str(OVERRIDE_FILE),
            "-p",
            self.project,
            "--profile",
            "split-queues",
            *args,
        ]
        result = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise EngineError(f"docker compose {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-6000:]}")
        return result

    def up(self, *services: str, timeout: float = 300) -> None:
        """`up -d` (waiting for health where Compose waits) with the API scaled to its replicas."""
        wanted = services or SERVICES
        scale = ["--scale", f"api={self.api_replicas}"] if "api" in wanted else []  # Compose refuses it otherwise
        self.compose("up", "-d", "--no-build", *scale, *wanted, timeout=timeout)
        self.started.extend(name for name in wanted if name not in self.started)

    def down(self, *, volumes: bool) -> None:
        """`down` (with `-v`: the named volumes too), containers stopped with a short grace."""
        self.compose("down", "-t", "5", "--remove-orphans", *(["-v"] if volumes else []), timeout=180)

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        """Inspect data of the project's containers (of one service), ordered by replica number."""
        labels = [f"label=com.docker.compose.project={self.project}"]
        if service:
            labels.append(f"label=com.docker.compose.service={service}")
        argv = ["ps", "-a", "--format", "{{.ID}}"]
        for label in labels:
            argv += ["--filter", label]
        ids = podman(*argv).stdout.split()
        # One `podman inspect` for all of them: each podman call costs a second on a busy machine.
        result = podman("container", "inspect", *ids, check=False) if ids else None
        present: list[dict[str, Any]] = json.loads(result.stdout) if result and result.stdout.strip() else []
        return sorted(present, key=lambda c: (c["Config"]["Labels"].get("com.docker.compose.service", ""), _number(c)))

    def container(self, service: str, number: int = 1) -> dict[str, Any]:
        """One container of a service by its replica number (1-based)."""
        for found in self.containers(service):
            if _number(found) == number:
                return found
        raise EngineError(f"no container {service}-{number} in project {self.project}")

    def name(self, service: str, number: int = 1) -> str:
        """A container's name."""
        return str(self.container(service, number)["Name"]).lstrip("/")

    def exec(self, service: str, *argv: str, number: int = 1, user: str | None = None) -> str:
        """Run a command in a container and return its output (raise when it fails)."""
        options = ["--user", user] if user else []
        return podman("exec", *options, self.name(service, number), *argv).stdout

    def health(self, service: str, number: int = 1) -> str:
        """A container's health status ("healthy", "starting", "unhealthy", "" without a check)."""
        state = self.container(service, number)["State"]
        health = state.get("Health") or state.get("Healthcheck") or {}
        return str(health.get("Status", ""))

    def logs(self, tail: int = 150) -> str:
        """Every container's recent log lines, for the report of a failed test."""
        result = self.compose("logs", "--no-color", "--timestamps", "--tail", str(tail), check=False, timeout=60)
        return result.stdout + result.stderr

    def remove_everything(self) -> None:
        """Down with volumes, then anything of the project that survived (containers, networks, volumes)."""
        try:
            self.down(volumes=True)
        except (EngineError, subprocess.TimeoutExpired):
            pass
        label = f"label=com.docker.compose.project={self.project}"
        ids = podman("ps", "-aq", "--filter", label, check=False).stdout.split()
        if ids:
            podman("rm", "-f", "-t", "0", *ids, check=False)
        for kind in ("network", "volume"):
            names = podman(kind, "ls", "-q", "--filter", label, check=False).stdout.split()
            if names:
                podman(kind, "rm", "-f", *names, check=False)


PROJECT_PREFIX = "myspinbot-ct"


def project_name() -> str:
    """This test run's compose project: named after our PID, so a later run can tell it is stale."""
    return f"{PROJECT_PREFIX}{os.getpid()}"


def remove_stale_projects(compose_bin: Path, docker_host: str, socket_path: str) -> list[str]:
    """Remove what earlier runs that died without cleaning up (a SIGKILLed pytest) left on the engine."""
    found = podman(
        "ps",
        "-a",
        "--filter",
        "label=com.docker.compose.project",
        "--format",
        '{{index .Labels "com.docker.compose.project"}}',
        check=False,
    ).stdout.split()
    stale = []
    for project in sorted(set(found)):
        pid = project.removeprefix(PROJECT_PREFIX)
        if project.startswith(PROJECT_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            ComposeStack(compose_bin, docker_host, socket_path, project, 0, 0).remove_everything()
            stale.append(project)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _number(container: dict[str, Any]) -> int:
    return int(container["Config"]["Labels"].get("com.docker.compose.container-number", "0"))


def json_of(text: str) -> Any:
    """Parse JSON printed by a command in a container."""
    return json.loads(text)
