"""Turn the compose services' `traefik.*` labels into what Traefik's file provider reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Labels the Docker provider reads for itself; they are not dynamic configuration.
_PROVIDER_ONLY = ("traefik.enable", "traefik.docker.")


@dataclass(frozen=True)
class Router:
    """One HTTP router declared by a service's labels."""

    service_name: str  # the compose service carrying the labels
    name: str
    options: dict[str, str]


def traefik_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """The service's `traefik.*` labels."""
    labels: Mapping[str, str] = service.get("labels") or {}
    return {key: value for key, value in labels.items() if key.startswith("traefik.")}


def routers(services: Mapping[str, Mapping[str, Any]]) -> Iterator[Router]:
    """Every HTTP router declared in the services' labels."""
    for service_name, service in services.items():
        found: dict[str, dict[str, str]] = {}
        for key, value in traefik_labels(service).items():
            parts = key.split(".")
            if parts[1:3] == ["http", "routers"] and len(parts) >= 5:
                found.setdefault(parts[3], {})[".".join(parts[4:])] = value
        for name, options in found.items():
            yield Router(service_name, name, options)


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def dynamic_config(services: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """File-provider configuration equivalent to what the Docker provider builds from the labels.

    Keys keep the labels' spelling (Traefik matches them case-insensitively), so a misspelt label
    is an unknown field to Traefik too. The Docker provider's shorthand `loadbalancer.server.port`
    (and `.scheme`) becomes one server URL `<scheme>://<compose service>:<port>`.
    """
    config: dict[str, Any] = {}
    for service_name, service in services.items():
        labels = traefik_labels(service)
        if labels.get("traefik.enable") != "true":
            continue
        servers: dict[str, dict[str, str]] = {}
        for key, value in labels.items():
            if key.startswith(_PROVIDER_ONLY):
                continue
            path = key.split(".")[1:]
            if path[:2] == ["http", "services"] and path[3:5] == ["loadbalancer", "server"] and len(path) == 6:
                servers.setdefault(path[2], {})[path[5]] = value
                continue
            _set(config, path, value)
        for name, server in servers.items():
            url = f"{server.pop('scheme', 'http')}://{service_name}:{server.pop('port')}"
            _set(config, ["http", "services", name, "loadbalancer", "servers"], [{"url": url, **server}])
    return config
