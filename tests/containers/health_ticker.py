"""Runs the containers' health checks, which Podman leaves to systemd timers (none exist here).

Without it a container with a HEALTHCHECK stays "starting" for ever and Compose's
`depends_on: condition: service_healthy` never lets its dependants start.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

# Podman's own REST API (beside the Docker-compatible one) has "run this container's check".
LIBPOD = "http://podman/v4.0.0/libpod"


class HealthTicker:
    """A thread that runs the health check of each of a project's containers about once a second."""

    def __init__(self, socket_path: str, project: str, interval: float = 1.0) -> None:
        self.project = project
        self.interval = interval
        self.checks_run = 0
        # Container name -> when a check of ours first found it healthy (host clock, epoch seconds).
        self.first_healthy: dict[str, float] = {}
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=socket_path), timeout=30)
        self._has_check: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"health-ticker-{project}", daemon=True)

    def start(self) -> HealthTicker:
        """Start ticking."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking and close the connection."""
        self._stop.set()
        self._thread.join(timeout=60)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except httpx.HTTPError:
                continue  # the service is restarting or going away; the next tick retries

    def tick(self) -> None:
        """Run one check in every running container of the project that declares one."""
        for container in self._running():
            if self._stop.is_set():
                return
            if self._declares_check(container["Id"]):
                # An error status (the container stopped meanwhile) is fine: the next tick retries.
                # The time is taken before the check: if this check turns the container healthy,
                # the change happened after it, so a dependant started later was really gated.
                asked_at = time.time()
                response = self._http.get(f"{LIBPOD}/containers/{container['Id']}/healthcheck")
                self.checks_run += 1
                if response.status_code == 200 and response.json().get("Status") == "healthy":
                    name = str((container.get("Names") or [container["Id"]])[0])
                    self.first_healthy.setdefault(name, asked_at)

    def _running(self) -> list[dict[str, Any]]:
        filters = json.dumps({"label": [f"com.docker.compose.project={self.project}"], "status": ["running"]})
        response = self._http.get(f"{LIBPOD}/containers/json", params={"filters": filters})
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json() or []
        return found

    def _declares_check(self, container_id: str) -> bool:
        if container_id not in self._has_check:
            response = self._http.get(f"{LIBPOD}/containers/{container_id}/json")
            if response.status_code != 200:
                return False
            config = response.json().get("Config") or {}
            self._has_check[container_id] = bool(config.get("Healthcheck"))
        return self._has_check[container_id]
