"""docker-compose.yml, checked by the real Docker Compose v2 and read back resolved."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_compose import COMPOSE_FILE, TEST_SECRETS, command_option, compose_env, resolved_config, run_compose
from stack_tools import REPO_ROOT, env_file_values

ALL_SERVICES = {"traefik", "api", "worker", "ui", "redis", "prometheus", "grafana", "redisinsight"}
APP_PORTS = {"api": "3000", "ui": "3001"}


def networks_of(service: dict[str, Any]) -> set[str]:
    """The compose network keys a service joins."""
    return set(service.get("networks") or {})


def test_compose_v2_accepts_the_file(compose_bin: Path) -> None:
    """Docker Compose v2 validates the file, with and without the optional profile."""
    for options in ([], ["--profile", "tools"]):
        result = run_compose(compose_bin, *options, "config", "-q")
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", f"compose warned: {result.stderr}"


@pytest.mark.parametrize("secret", sorted(TEST_SECRETS))
def test_compose_refuses_to_run_without_a_secret(compose_bin: Path, secret: str) -> None:
    """With a secret unset (the committed .env leaves it empty) Compose stops with a message naming it."""
    env = compose_env({name: value for name, value in TEST_SECRETS.items() if name != secret})
    result = run_compose(compose_bin, "config", "-q", env=env)
    assert result.returncode != 0
    assert f"required variable {secret} is missing a value" in result.stderr
    assert f"set {secret} in .env" in result.stderr


def test_committed_env_holds_no_secret() -> None:
    """.env leaves every secret empty, so a fresh clone cannot start with a known token or key."""
    values = env_file_values(REPO_ROOT / ".env")
    for secret in TEST_SECRETS:
        assert values[secret] == ""


def test_file_has_a_project_name_and_no_version_key() -> None:
    """The file names its project (network names depend on it) and has no obsolete `version:`."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert "version" not in raw
    assert raw["name"] == "myspinbot"


def test_services_and_the_optional_profile(compose_bin: Path, stack: dict[str, Any]) -> None:
    """Every service is there; Redis Insight only with `--profile tools`."""
    assert set(stack["services"]) == ALL_SERVICES
    assert stack["services"]["redisinsight"]["profiles"] == ["tools"]
    assert set(resolved_config(compose_bin)["services"]) == ALL_SERVICES - {"redisinsight"}


def test_only_traefik_publishes_ports(stack: dict[str, Any]) -> None:
    """Traefik publishes 80 and 443; no other service is reachable from the host."""
    published = {name: service["ports"] for name, service in stack["services"].items() if service.get("ports")}
    assert set(published) == {"traefik"}
    assert sorted(port["target"] for port in published["traefik"]) == [80, 443]


def test_networks_separate_the_app_from_monitoring(stack: dict[str, Any]) -> None:
    """The app lives on internal-network; Prometheus and Grafana see only the API, over monitoring-network."""
    assert set(stack["networks"]) == {"internal-network", "monitoring-network"}
    services = stack["services"]
    expected = {
        "traefik": {"internal-network", "monitoring-network"},
        "api": {"internal-network", "monitoring-network"},
        "worker": {"internal-network"},
        "ui": {"internal-network"},
        "redis": {"internal-network"},
        "redisinsight": {"internal-network"},
        "prometheus": {"monitoring-network"},
        "grafana": {"monitoring-network"},
    }
    assert {name: networks_of(service) for name, service in services.items()} == expected


def test_health_checks(stack: dict[str, Any]) -> None:
    """Each long-running server has a health check; the API's asks GET /health on its own port."""
    services = stack["services"]
    for name in ("traefik", "api", "ui", "redis", "prometheus", "grafana"):
        check = services[name].get("healthcheck")
        assert check and check["test"] and check["test"][0] in {"CMD", "CMD-SHELL"}, name
    assert "http://127.0.0.1:3000/health" in services["api"]["healthcheck"]["test"][-1]
    assert "http://127.0.0.1:3001/" in services["ui"]["healthcheck"]["test"][-1]
    assert "redis-cli ping" in services["redis"]["healthcheck"]["test"][-1]
    assert "healthcheck" not in services["worker"], "documented choice: the worker has no health check"


def test_health_checks_survive_podman(stack: dict[str, Any]) -> None:
    """No exec-form check has an argument with a space: Podman's Docker API would split it (CMD-SHELL is one string)."""
    for name, service in stack["services"].items():
        test = (service.get("healthcheck") or {}).get("test") or []
        if test and test[0] == "CMD":
            assert all(" " not in arg for arg in test[1:]), (name, test)
        assert "start_interval" not in (service.get("healthcheck") or {}), f"{name}: Compose refuses it on Podman"


def test_start_order_waits_on_health_never_on_the_worker(stack: dict[str, Any]) -> None:
    """Services wait for healthy dependencies; nothing waits on the worker."""
    waits = {
        (name, dependency): options["condition"]
        for name, service in stack["services"].items()
        for dependency, options in (service.get("depends_on") or {}).items()
    }
    assert waits == {
        ("api", "redis"): "service_healthy",
        ("worker", "redis"): "service_healthy",
        ("ui", "api"): "service_healthy",
        ("grafana", "prometheus"): "service_healthy",
        ("redisinsight", "redis"): "service_healthy",
    }


def test_redis_is_durable_and_never_evicts(stack: dict[str, Any]) -> None:
    """Redis 7 keeps an append-only file on a named volume and refuses writes instead of evicting."""
    redis = stack["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    assert command_option(redis["command"], "--appendonly") == "yes"
    assert command_option(redis["command"], "--maxmemory-policy") == "noeviction"
    assert any(v["type"] == "volume" and v["target"] == "/data" for v in redis["volumes"])


def test_app_commands_follow_the_cli(stack: dict[str, Any]) -> None:
    """api, worker and ui run the `myspinbot` CLI on the agreed ports and queues."""
    services = stack["services"]
    assert services["api"]["command"] == ["myspinbot", "api", "--host", "0.0.0.0", "--port", "3000"]
    assert services["worker"]["command"][:2] == ["myspinbot", "worker"]
    assert command_option(services["worker"]["command"], "-Q") == "train,generate"
    assert services["ui"]["command"] == ["myspinbot-ui", "--host", "0.0.0.0", "--port", "3001"]


def test_api_and_worker_share_settings_and_data(stack: dict[str, Any]) -> None:
    """API and worker see the same Redis, data folder (one volume) and token; the ui reaches the API by
    name, with no token of its own."""
    services = stack["services"]
    api, worker, ui = services["api"], services["worker"], services["ui"]
    assert api["environment"] == worker["environment"]
    env = api["environment"]
    assert env["MYSPINBOT_REDIS_URL"] == "redis://redis:6379/0"
    assert env["MYSPINBOT_API_TOKEN"] == TEST_SECRETS["MYSPINBOT_API_TOKEN"]
    data_volumes = [
        {(v["source"], v["target"]) for v in s["volumes"] if v["target"] == env["MYSPINBOT_DATA_DIR"]}
        for s in (api, worker)
    ]
    assert data_volumes[0] == data_volumes[1] and len(data_volumes[0]) == 1
    assert ui["environment"]["MYSPINBOT_API_URL"] == f"http://api:{APP_PORTS['api']}"
    # The dashboard holds no API key: it acts with each logged-in user's own session key.
    assert not {"MYSPINBOT_API_TOKEN", "MYSPINBOT_API_KEY"} & set(ui["environment"])
    # It and the API trust X-Forwarded-* from the container networks only, never from anywhere.
    for service in (api, ui):
        trusted = service["environment"]["FORWARDED_ALLOW_IPS"].split(",")
        assert "*" not in trusted and all(ipaddress.ip_network(net).is_private for net in trusted)


def test_bind_mounts_exist(stack: dict[str, Any]) -> None:
    """Every file or folder the stack mounts from the repo exists."""
    for name, service in stack["services"].items():
        for volume in service.get("volumes") or []:
            source = Path(volume.get("source", ""))
            if volume["type"] == "bind" and source.is_relative_to(REPO_ROOT):
                assert source.exists(), f"{name} mounts missing {source}"


def dockerfile_of(service: dict[str, Any]) -> Path:
    """The Dockerfile a service builds from."""
    build: dict[str, str] = service["build"]
    return Path(build["context"]) / build.get("dockerfile", "Dockerfile")


def test_build_contexts_and_dockerfiles_exist(stack: dict[str, Any]) -> None:
    """api, worker and ui build from the repo root with Dockerfiles that are there; api and worker share one image."""
    built = {name: service for name, service in stack["services"].items() if "build" in service}
    assert set(built) == {"api", "worker", "ui"}
    for name, service in built.items():
        assert Path(service["build"]["context"]) == REPO_ROOT, name
        assert dockerfile_of(service).is_file(), name
    assert built["api"]["image"] == built["worker"]["image"]
    assert built["api"]["build"] == built["worker"]["build"]


# `COPY <src> <dest>` from the context (not `--from=`), and the folders `pip install` takes.
COPY_LINE = re.compile(r"^COPY\s+(?!--from)(\S+)\s+(\S+)\s*$", re.MULTILINE)
FOLDER_ARG = re.compile(r"(/src/\S+)")


@pytest.mark.parametrize(
    ("dockerfile", "distributions"),
    [
        (
            "docker/api.Dockerfile",
            [
                "client",
                "kernel",
                "plugins/redis_store",
                "plugins/metrics",
                "plugins/lora_train",
                "plugins/video_generate",
                "plugins/webhooks",
            ],
        ),
        ("docker/ui.Dockerfile", ["client", "ui_flet"]),
    ],
)
def test_dockerfiles_install_the_distributions_as_non_root(dockerfile: str, distributions: list[str]) -> None:
    """Each image copies folders that exist and installs exactly its distributions, then drops root."""
    text = (REPO_ROOT / dockerfile).read_text()
    # Every stage builds on the overridable base, whose default is the official image.
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.MULTILINE)
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in text.splitlines() if line.startswith("FROM "))
    copied = {Path(src): Path(dest) for src, dest in COPY_LINE.findall(text)}
    for source in copied:
        assert (REPO_ROOT / source).is_dir(), f"{dockerfile} copies missing {source}"
    instructions = text.replace("\\\n", " ").splitlines()
    install = next(line for line in instructions if line.startswith("RUN ") and "pip install" in line)
    installed = [Path(arg).relative_to("/src").as_posix() for arg in FOLDER_ARG.findall(install)]
    assert installed == distributions
    assert "--mount=type=cache,target=/root/.cache/pip" in install, "pip's cache must stay out of the layers"
    for folder in installed:
        assert (REPO_ROOT / folder / "pyproject.toml").is_file(), f"{folder} is not an installable distribution"
    assert re.search(r"^USER myspinbot$", text, re.MULTILINE)


def test_dockerignore_keeps_what_the_images_copy() -> None:
    """.dockerignore leaves in every folder a Dockerfile copies and keeps local secrets out."""
    patterns = {line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()}
    patterns.discard("")
    for copied in ("client", "kernel", "plugins", "ui_flet"):
        assert copied not in patterns
    assert {".env", ".env.local", ".git", ".venv"} <= patterns
