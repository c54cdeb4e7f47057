"""Traefik's routes from the compose labels: checked statically and loaded by a real Traefik 3.7."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from stack_compose import command_option, resolved_config
from stack_tools import Daemon, require_tool
from traefik_labels import dynamic_config, routers, traefik_labels

from myspinbot.cli.procs import free_port, wait_until

# Where each routed service listens inside its container (own CLI flag, or the image's port).
SERVICE_PORTS = {"api": "3000", "ui": "3001", "grafana": "3000", "redisinsight": "5540"}
PUBLIC_HOSTS = {"api": "api.myspinbot.local", "ui": "ui.myspinbot.local"}
# The tools people open: Grafana, and Redis Insight on redis.<domain> (the host the seed names).
TOOL_HOSTS = {"grafana": "grafana.myspinbot.local", "redisinsight": "redis.myspinbot.local"}
# Printed by every Traefik 3.6+ at start-up whatever the configuration; any other warning fails.
KNOWN_WARNINGS = ("Traefik can reject some encoded characters in the request path",)


def traefik_flags(stack: dict[str, Any]) -> dict[str, str]:
    """Traefik's static configuration flags from its compose command, as {flag: value}."""
    flags: dict[str, str] = {}
    for arg in stack["services"]["traefik"]["command"]:
        name, _, value = arg.partition("=")
        flags[name] = value
    return flags


def entrypoints(flags: dict[str, str]) -> set[str]:
    """Names of the entrypoints the flags declare."""
    return {name.split(".")[1] for name in flags if name.startswith("--entrypoints.") and name.endswith(".address")}


def test_every_router_is_complete(stack: dict[str, Any]) -> None:
    """Each router has a Host rule, a declared entrypoint, TLS and a service defined on the same container."""
    declared = entrypoints(traefik_flags(stack))
    found = list(routers(stack["services"]))
    assert {router.name for router in found} == {"api", "ui", "grafana", "redisinsight"}
    for router in found:
        labels = traefik_labels(stack["services"][router.service_name])
        assert labels["traefik.enable"] == "true", router
        assert router.options["rule"].startswith("Host(`"), router
        assert set(router.options["entrypoints"].split(",")) <= declared, router
        assert router.options["tls"] == "true", router
        service = router.options["service"]
        assert f"traefik.http.services.{service}.loadbalancer.server.port" in labels, router


def test_routed_services_point_at_their_app_port(stack: dict[str, Any]) -> None:
    """Traefik forwards to the port each app listens on; for api and ui, the `--port` of their command."""
    for name, expected in SERVICE_PORTS.items():
        service = stack["services"][name]
        port = traefik_labels(service)[f"traefik.http.services.{name}.loadbalancer.server.port"]
        assert port == expected, name
        if name in ("api", "ui"):
            assert command_option(service["command"], "--port") == port


def test_traefik_reaches_each_routed_service_over_a_shared_network(compose_bin: Path) -> None:
    """The network Traefik dials for each service is one both join, under any project name."""
    for project in ("myspinbot", "another-name"):
        stack = resolved_config(compose_bin, "-p", project, "--profile", "tools")
        network_names = {key: network["name"] for key, network in stack["networks"].items()}
        default = traefik_flags(stack)["--providers.docker.network"]
        assert default == network_names["internal-network"]
        traefik_networks = set(stack["services"]["traefik"]["networks"])
        for router in routers(stack["services"]):
            service = stack["services"][router.service_name]
            dialled = traefik_labels(service).get("traefik.docker.network", default)
            shared = traefik_networks & set(service["networks"])
            assert dialled in {network_names[key] for key in shared}, router


def test_docker_provider_is_opt_in(stack: dict[str, Any]) -> None:
    """Only services labelled traefik.enable=true are exposed; redis, worker and prometheus are not;
    and only containers of this compose project (another stack on the engine is not routed)."""
    flags = traefik_flags(stack)
    assert flags["--providers.docker.exposedbydefault"] == "false"
    assert flags["--providers.docker.constraints"] == f"Label(`com.docker.compose.project`,`{stack['name']}`)"
    for name in ("redis", "worker", "prometheus"):
        assert not traefik_labels(stack["services"][name]), name


def test_metrics_is_kept_off_the_public_api_router(stack: dict[str, Any]) -> None:
    """The api router excludes /metrics: Prometheus scrapes it over monitoring-network only."""
    (api,) = (router for router in routers(stack["services"]) if router.name == "api")
    assert "!PathPrefix(`/metrics`)" in api.options["rule"]


@dataclass
class LiveTraefik:
    """A real Traefik serving the compose labels through its file provider."""

    daemon: Daemon
    ports: dict[str, int]  # entrypoint name -> port on 127.0.0.1

    def api(self, path: str) -> Any:
        """GET a path of Traefik's own API."""
        response = httpx.get(f"http://127.0.0.1:{self.ports['traefik']}/api{path}", timeout=5)
        response.raise_for_status()
        return response.json()

    def log_entries(self) -> list[dict[str, Any]]:
        """Traefik's JSON log lines."""
        return [json.loads(line) for line in self.daemon.log().splitlines() if line.startswith("{")]


def live_flags(stack: dict[str, Any], dynamic_file: Path, ports: dict[str, int], access_log: Path) -> list[str]:
    """The compose flags with the Docker provider swapped for the file, on 127.0.0.1 ports, API on."""
    flags: list[str] = []
    for name, value in traefik_flags(stack).items():
        if name.startswith("--providers.docker"):
            continue
        if name.startswith("--entrypoints.") and name.endswith(".address"):
            value = f"127.0.0.1:{ports[name.split('.')[1]]}"
        flags.append(f"{name}={value}" if value else name)
    return [
        *flags,
        f"--providers.file.filename={dynamic_file}",
        "--api.insecure=true",
        "--log.format=json",
        f"--accesslog.filepath={access_log}",
    ]


@pytest.fixture(scope="module")
def live_traefik(stack: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTraefik]:
    """Traefik 3.7 started on the labels of every service, stopped by PID afterwards."""
    binary = require_tool("traefik")
    workdir = tmp_path_factory.mktemp("traefik")
    dynamic_file = workdir / "dynamic.yml"
    dynamic_file.write_text(json.dumps(dynamic_config(stack["services"]), indent=2))  # JSON is YAML
    ports = {name: free_port() for name in entrypoints(traefik_flags(stack))}
    daemon = Daemon([binary, *live_flags(stack, dynamic_file, ports, workdir / "access.log")], workdir / "traefik.log")
    live = LiveTraefik(daemon, ports)
    try:
        # Ready once the file provider's routers are in, or it logged why they are not.
        wait_until(
            lambda: (
                any(r["provider"] == "file" for r in live.api("/http/routers"))
                or any(entry["level"] == "error" for entry in live.log_entries())
            ),
            15,
            "Traefik to load the file provider",
        )
        yield live
    finally:
        daemon.stop(grace=2)  # no need to sit through its graceful shutdown


def router_named(live: LiveTraefik, name: str) -> dict[str, Any]:
    """One router as Traefik reports it."""
    found = {router["name"]: router for router in live.api("/http/routers")}
    errors = [entry for entry in live.log_entries() if entry["level"] == "error"]
    assert name in found, f"Traefik has no router {name}, only {sorted(found)}; its errors: {errors}"
    return dict(found[name])


def test_traefik_loads_every_router_without_error(live_traefik: LiveTraefik) -> None:
    """Traefik enables each router on websecure with TLS and logs no error and no unexpected warning."""
    for name in ("api", "ui", "grafana", "redisinsight"):
        router = router_named(live_traefik, f"{name}@file")
        assert router["status"] == "enabled", router
        assert router["entryPoints"] == ["websecure"]
        assert "tls" in router
        assert router["service"] == name
    for host_router, host in {**PUBLIC_HOSTS, **TOOL_HOSTS}.items():
        assert f"Host(`{host}`)" in router_named(live_traefik, f"{host_router}@file")["rule"]
    assert router_named(live_traefik, "redisinsight@file")["middlewares"] == ["private-only@file"]
    problems = [
        entry
        for entry in live_traefik.log_entries()
        if entry["level"] in {"error", "fatal", "panic"}
        or (entry["level"] == "warn" and not entry["message"].startswith(KNOWN_WARNINGS))
    ]
    assert problems == []


def test_traefik_services_target_the_app_containers(live_traefik: LiveTraefik) -> None:
    """Each Traefik service forwards to <compose service>:<app port>."""
    services = {s["name"]: s for s in live_traefik.api("/http/services")}
    for name, port in SERVICE_PORTS.items():
        assert f"{name}@file" in services, f"no service {name}@file, only {sorted(services)}"
        service = services[f"{name}@file"]
        assert service["status"] == "enabled"
        assert service["loadBalancer"]["servers"] == [{"url": f"http://{name}:{port}"}]
    middleware = {m["name"]: m for m in live_traefik.api("/http/middlewares")}["private-only@file"]
    assert "127.0.0.1/32" in middleware["ipAllowList"]["sourceRange"]


def test_http_redirects_to_https(live_traefik: LiveTraefik) -> None:
    """A plain-HTTP request is redirected permanently to the same URL on websecure."""
    router = router_named(live_traefik, "web-to-websecure@internal")
    assert router["status"] == "enabled"
    response = httpx.get(
        f"http://127.0.0.1:{live_traefik.ports['web']}/health", headers={"Host": PUBLIC_HOSTS["api"]}, timeout=5
    )
    assert response.status_code in {301, 308}
    assert response.headers["location"] == f"https://{PUBLIC_HOSTS['api']}:{live_traefik.ports['websecure']}/health"


def request_via_websecure(live: LiveTraefik, host: str, path: str) -> int:
    """Status of an HTTPS request through Traefik (its default self-signed certificate accepted)."""
    url = f"https://127.0.0.1:{live.ports['websecure']}{path}"
    with httpx.Client(verify=False, timeout=10) as client:
        return client.get(url, headers={"Host": host}, extensions={"sni_hostname": host}).status_code


@pytest.mark.parametrize(
    ("host", "path", "routed"),
    [
        (PUBLIC_HOSTS["api"], "/health", True),
        (PUBLIC_HOSTS["api"], "/api/jobs", True),
        (PUBLIC_HOSTS["api"], "/metrics", False),
        (PUBLIC_HOSTS["ui"], "/", True),
        ("unknown.myspinbot.local", "/", False),
    ],
)
def test_public_routes(live_traefik: LiveTraefik, host: str, path: str, routed: bool) -> None:
    """api and ui requests are forwarded (502: no container here); /metrics and other hosts get 404."""
    status = request_via_websecure(live_traefik, host, path)
    assert status == (502 if routed else 404)
