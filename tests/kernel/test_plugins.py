"""The plugin system: discovery, the block list, clashes and unknown hooks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from myspinbot import JobContext, JobType, Settings
from myspinbot.api.app import create_app
from myspinbot.core.kernel import Kernel
from myspinbot.core.plugins import PluginError, make_plugin_manager
from tests.support.plugins import plugin
from tests.support.processes import REPO_ROOT

BUILT_IN = {
    "lora_train": "myspinbot-lora-train",
    "video_generate": "myspinbot-video-generate",
    "redis_store": "myspinbot-redis-store",
    "metrics": "myspinbot-metrics",
    "webhooks": "myspinbot-webhooks",
}


class EchoParams(BaseModel):
    text: str = "hi"


def run_echo(ctx: JobContext, params: EchoParams) -> dict[str, str]:
    return {"text": params.text}


def test_builtin_plugins_come_from_their_own_distributions(settings: Settings) -> None:
    """Each built-in plugin is found through its own distribution's entry point."""
    plugins = {info.name: info for info in Kernel(settings).plugins()}
    for name, distribution in BUILT_IN.items():
        assert plugins[name].distribution == distribution
        assert plugins[name].version
    assert "register_job_types" in plugins["lora_train"].hooks
    assert "job_store" in plugins["redis_store"].hooks


def test_api_plugins_lists_loaded_plugins(client: TestClient) -> None:
    """GET /api/plugins lists every loaded plugin with distribution, version and hooks."""
    listed = {item["name"]: item for item in client.get("/api/plugins").json()}
    for name, distribution in BUILT_IN.items():
        assert listed[name]["distribution"] == distribution
        assert listed[name]["hooks"]


def test_throwaway_plugin_adds_job_type_and_route(settings: Settings) -> None:
    """A plugin registered at run time adds a job type (with alias) and a route; unregistering removes them."""
    pm = make_plugin_manager(settings)
    router = APIRouter()

    @router.get("/api/echo-info")
    async def echo_info() -> dict[str, str]:
        return {"plugin": "echo"}

    throwaway = plugin(
        register_job_types=lambda: [
            JobType(name="echo", title="Echo", params=EchoParams, run=run_echo, route="/api/echo")
        ],
        register_routes=lambda: [router],
    )
    pm.register(throwaway, name="throwaway")
    try:
        with TestClient(create_app(settings, pm)) as client:
            names = [item["name"] for item in client.get("/api/job-types").json()]
            assert "echo" in names
            assert client.get("/api/echo-info").json() == {"plugin": "echo"}
            assert "/api/echo" in client.get("/openapi.json").json()["paths"]
    finally:
        pm.unregister(name="throwaway")
    assert "echo" not in Kernel(settings, pm).job_types


def test_disabling_a_plugin_removes_its_job_type(settings: Settings) -> None:
    """MYSPINBOT_DISABLE_PLUGINS blocks a plugin: its job type and listing disappear."""
    blocked = settings.model_copy(update={"disable_plugins": ["video_generate"]})
    with TestClient(create_app(blocked)) as client:
        names = [item["name"] for item in client.get("/api/job-types").json()]
        assert "generate" not in names and "train" in names
        assert "video_generate" not in [item["name"] for item in client.get("/api/plugins").json()]
        assert client.post("/api/generate", json={"prompt": "x"}).status_code == 404


def test_two_plugins_claiming_one_job_type_fail_naming_both(settings: Settings) -> None:
    """Two plugins registering the same job type fail start-up with a message naming both."""
    pm = make_plugin_manager(settings)
    pm.register(
        plugin(register_job_types=lambda: [JobType(name="generate", title="Mine", params=EchoParams, run=run_echo)]),
        name="impostor",
    )
    with pytest.raises(PluginError) as caught:
        Kernel(settings, pm)
    assert "'generate'" in str(caught.value)
    assert "video_generate" in str(caught.value) and "impostor" in str(caught.value)


def test_two_plugins_claiming_one_route_alias_fail_naming_both(settings: Settings) -> None:
    """A route alias claimed twice fails start-up naming both plugins."""
    pm = make_plugin_manager(settings)
    pm.register(
        plugin(
            register_job_types=lambda: [
                JobType(name="other", title="Other", params=EchoParams, run=run_echo, route="/api/train")
            ]
        ),
        name="squatter",
    )
    with pytest.raises(PluginError, match=r"(?s)/api/train.*lora_train.*squatter"):
        Kernel(settings, pm)


def test_plugin_route_clashing_with_kernel_route_fails(settings: Settings) -> None:
    """A plugin route that the kernel already serves fails start-up naming the plugin."""
    router = APIRouter()

    @router.get("/health")
    async def my_health() -> dict[str, str]:
        return {}

    pm = make_plugin_manager(settings)
    pm.register(plugin(register_routes=lambda: [router]), name="health_squatter")
    with pytest.raises(PluginError, match=r"GET /health.*kernel.*health_squatter"):
        create_app(settings, pm)


def test_hook_with_no_spec_is_rejected(settings: Settings) -> None:
    """A hook implementation matching no spec (a typo) is rejected at start-up."""
    pm = make_plugin_manager(settings)
    pm.register(plugin(register_jobtypes=lambda: []), name="typo")
    from myspinbot.core.plugins import check_hooks

    with pytest.raises(PluginError, match=r"typo.*unknown hook"):
        check_hooks(pm)


def test_cli_lists_plugins_and_fails_on_clash(tmp_path: object) -> None:
    """`myspinbot plugins` lists the built-ins; a clashing plugin makes `myspinbot api` exit naming both."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "MYSPINBOT_REDIS_URL": "redis://127.0.0.1:1/0"}
    listed = subprocess.run(
        [sys.executable, "-m", "myspinbot.cli", "--env-file", "/dev/null", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for name, distribution in BUILT_IN.items():
        assert name in listed.stdout and distribution in listed.stdout
    clash = subprocess.run(
        [sys.executable, "-m", "myspinbot.cli", "--env-file", "/dev/null", "api", "--port", "1"],
        env={**env, "MYSPINBOT_EXTRA_PLUGINS": "tests.support.clashing"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clash.returncode == 2
    assert "lora_train" in clash.stderr and "tests.support.clashing" in clash.stderr
