"""Every hook: documented, implemented by a built-in plugin, tested, and called through pluggy.

The meta-test follows datasette's `test_plugin_hooks_have_tests`: it reads the hookspecs module,
so a new hook without a docstring, a built-in implementation or a test fails here.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import logging
import tomllib
import uuid
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Gauge

from myspinbot import EventName, JobEvent, Kernel, Settings
from myspinbot.api.app import create_app
from myspinbot.cli.procs import wait_until
from myspinbot.core import builtin_auth, hookspecs, lifecycle
from myspinbot.core.job_service import JobService
from myspinbot.core.plugins import call_each, hook_callers, make_plugin_manager
from myspinbot.worker.app import create_celery, worker_name
from myspinbot.worker.process import WorkerLifecycle
from tests.support.job_harness import JOB_TYPE, RecordingQueue
from tests.support.memory_store import InMemoryJobStore
from tests.support.plugins import plugin, wrapper
from tests.support.processes import REPO_ROOT

THIS_FILE = Path(__file__).resolve()
SPECS = {
    name: function
    for name, function in vars(hookspecs).items()
    if inspect.isfunction(function) and hasattr(function, f"{hookspecs.PROJECT_NAME}_spec")
}


def built_in_plugin_modules() -> dict[str, Any]:
    """The modules the built-in distributions (plugins/*) register under the `myspinbot` entry points."""
    distributions = {
        tomllib.loads(path.read_text())["project"]["name"] for path in (REPO_ROOT / "plugins").glob("*/pyproject.toml")
    }
    modules = {
        point.name: point.load()
        for point in entry_points(group="myspinbot")
        if point.dist is not None and point.dist.name in distributions
    }
    # The kernel's own defaults are plugins too (registered by make_plugin_manager, not an entry point).
    modules[builtin_auth.NAME] = builtin_auth
    return modules


def hooks_named_in_tests() -> set[str]:
    """Every hook name that appears in the source of some test function (this module's meta-test aside)."""
    named: set[str] = set()
    for path in (REPO_ROOT / "tests").rglob("test_*.py"):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                if path.resolve() == THIS_FILE and node.name == "test_every_hook_is_documented_implemented_and_tested":
                    continue
                text = ast.get_source_segment(source, node) or ""
                named |= {name for name in SPECS if name in text}
    return named


def test_every_hook_is_documented_implemented_and_tested() -> None:
    """Each hookspec has a docstring, an implementation in a built-in plugin and a test naming it."""
    assert SPECS, "no hookspecs found"
    modules = built_in_plugin_modules()
    assert {"redis_store", "metrics", "lora_train", "video_generate"} <= set(modules)
    tested = hooks_named_in_tests()
    problems = []
    for name, spec in sorted(SPECS.items()):
        if len((spec.__doc__ or "").strip()) < 40:
            problems.append(f"{name}: no docstring saying what it receives, returns and when it is called")
        implementers = [
            plugin for plugin, module in modules.items() if hasattr(getattr(module, name, None), "myspinbot_impl")
        ]
        if not implementers:
            problems.append(f"{name}: no built-in plugin implements it (implement it or remove the spec)")
        if name not in tested:
            problems.append(f"{name}: no test names it")
    assert problems == []


def test_hook_declarations_go_through_pluggy_wrappers(settings: Settings) -> None:
    """register_job_types as the kernel collects it (plugin by plugin, to name clashes) still runs
    every plugin's wrappers: one wrapped call per implementing plugin."""
    pm = make_plugin_manager(settings)
    calls: list[str] = []
    pm.register(wrapper(calls, "register_job_types"), name="watcher")
    implementers = len([name for name, _ in call_each(pm, "register_job_types", settings=settings)])
    calls.clear()
    Kernel(settings, pm)
    assert calls == ["register_job_types"] * implementers and implementers >= 2


def test_hook_job_event_reaches_observers_through_pluggy(tmp_path: Path) -> None:
    """job_event: a submit through the job service tells the plugins' observers, wrappers included."""
    settings = Settings(data_dir=tmp_path, _env_file=None)
    store = InMemoryJobStore()
    pm = make_plugin_manager(settings, load_entry_points=False)
    seen: list[str] = []
    calls: list[str] = []
    pm.register(plugin(job_store=lambda: store), name="memory")
    pm.register(plugin(job_event=lambda event: seen.append(event.event.value)), name="observer")
    pm.register(wrapper(calls, "job_event"), name="watcher")
    kernel = Kernel(settings, pm)

    job = lifecycle.new_job(uuid.uuid4().hex, JOB_TYPE.name, {}, [])
    asyncio.run(JobService.of(kernel).submit(job, JOB_TYPE, RecordingQueue()))
    assert seen == ["job.queued"] and calls == ["job_event"]


def test_hook_job_event_failure_never_breaks_the_job(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """job_event: an observer that raises is logged; the change it observed stands."""
    settings = Settings(data_dir=tmp_path, _env_file=None)
    pm = make_plugin_manager(settings, load_entry_points=False)
    pm.register(plugin(job_store=InMemoryJobStore), name="memory")

    def broken(event: JobEvent) -> None:
        raise RuntimeError("observer down")

    pm.register(plugin(job_event=broken), name="broken")
    job = lifecycle.new_job(uuid.uuid4().hex, "sleepy", {}, [])
    with caplog.at_level(logging.ERROR):
        Kernel(settings, pm).notify(JobEvent(event=EventName.QUEUED, job=job))
    assert "observer down" in caplog.text


def test_hook_startup_shutdown_register_metrics_and_instrument_app_in_the_api(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """In the API: register_metrics adds a collector to /metrics, instrument_app sees the finished
    app, startup and shutdown run once each through pluggy (an async one awaited), and a plugin
    that fails in startup is logged by name while the others still start."""
    pm = make_plugin_manager(settings)
    events: list[str] = []
    calls: list[str] = []
    instrumented: list[FastAPI] = []

    def metrics(registry: CollectorRegistry) -> None:
        Gauge("throwaway_plugin_up", "A gauge from a throwaway plugin", registry=registry).set(1)

    async def started() -> None:
        events.append("startup")

    async def stopped() -> None:
        events.append("shutdown")

    def fails() -> None:
        raise RuntimeError("cannot start")

    pm.register(
        plugin(
            register_metrics=metrics,
            instrument_app=lambda app: instrumented.append(app),
            startup=started,
            shutdown=stopped,
        ),
        name="throwaway",
    )
    pm.register(plugin(startup=fails), name="flaky")
    pm.register(wrapper(calls, "startup"), name="watcher")
    app = create_app(settings, pm)
    assert instrumented == [app]
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        assert events == ["startup"]
        assert "throwaway_plugin_up 1.0" in client.get("/metrics").text
    assert events == ["startup", "shutdown"]
    assert "plugin flaky failed in startup" in caplog.text
    assert calls.count("startup") == len(hook_callers(pm, "startup"))  # each plugin's call, wrapped


def test_hook_startup_and_shutdown_in_a_worker(settings: Settings) -> None:
    """In a worker: when it is ready, startup runs (an async one to its end) and the heartbeat
    puts it online; at shutdown, shutdown runs and it leaves the online list."""
    pm = make_plugin_manager(settings)
    events: list[str] = []

    async def started() -> None:
        events.append("startup")

    pm.register(plugin(startup=started, shutdown=lambda: events.append("shutdown")), name="throwaway")
    kernel = Kernel(settings, pm)
    app = create_celery(settings, kernel=kernel)
    consumer = SimpleNamespace(app=app, hostname=f"unit-{uuid.uuid4().hex[:6]}@host", controller=None)
    name = worker_name(app, consumer.hostname)

    def online() -> bool:
        async def ask() -> bool:
            store = kernel.new_store()
            try:
                return await store.worker_online(name)
            finally:
                await store.close()

        return asyncio.run(ask())

    worker = WorkerLifecycle(app, kernel)
    worker.on_ready(sender=consumer)
    try:
        assert events == ["startup"]
        wait_until(online, 10, what="the heartbeat")
    finally:
        worker.on_shutdown(sender=consumer)
    assert events == ["startup", "shutdown"]
    assert not online()
