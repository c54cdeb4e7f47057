"""The compose file's health checks run under Podman, and `depends_on: service_healthy` gates start-up."""

from __future__ import annotations

import json
import re
from datetime import datetime

from tests.containers.health_ticker import HealthTicker
from tests.containers.stack import ComposeStack

CHECKED = (("traefik", 1), ("redis", 1), ("api", 1), ("api", 2), ("ui", 1), ("prometheus", 1))
# (dependant, dependency) pairs of the compose file whose condition is service_healthy.
GATED = (("api", "redis"), ("worker", "redis"), ("worker-train", "redis"), ("ui", "api"))


def started_at(stack: ComposeStack, service: str, number: int = 1) -> float:
    """When the engine started a container, as epoch seconds."""
    stamp = str(stack.container(service, number)["State"]["StartedAt"])
    # Podman prints nanoseconds ("...:50.123456789Z" or "+00:00"); datetime takes microseconds.
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?", stamp)
    assert match, stamp
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6].ljust(6, '0')}{zone}").timestamp()


def test_every_checked_service_turns_healthy(compose_stack: ComposeStack) -> None:
    """Traefik, Redis, both API replicas, the dashboard and Prometheus all report healthy."""
    statuses = {f"{service}-{number}": compose_stack.health(service, number) for service, number in CHECKED}
    assert set(statuses.values()) == {"healthy"}, statuses


def test_the_engine_runs_each_check_exactly_as_the_compose_file_declares_it(compose_stack: ComposeStack) -> None:
    """The check a container got is the compose file's, not split on spaces (the Podman exec-form trap)."""
    declared = json.loads(compose_stack.compose("config", "--format", "json").stdout)["services"]
    for service, number in CHECKED:
        test = compose_stack.container(service, number)["Config"]["Healthcheck"]["Test"]
        assert test == declared[service]["healthcheck"]["test"], (service, test)


def test_dependants_start_only_once_their_dependency_is_healthy(
    compose_stack: ComposeStack, health_ticker: HealthTicker
) -> None:
    """Each service_healthy dependant was started after its dependency's first passing check."""
    for dependant, dependency in GATED:
        replicas = compose_stack.containers(dependency)
        passed = [health_ticker.first_healthy.get(str(c["Name"]).lstrip("/")) for c in replicas]
        assert replicas and None not in passed, f"{dependency} never passed a check: {passed}"
        healthy_at = max(p for p in passed if p is not None)  # Compose waits for every replica
        for container in compose_stack.containers(dependant):
            number = int(container["Config"]["Labels"]["com.docker.compose.container-number"])
            assert started_at(compose_stack, dependant, number) >= healthy_at, (dependant, number, dependency)
