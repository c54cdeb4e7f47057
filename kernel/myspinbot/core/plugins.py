"""Building the plugin manager: hookspecs, entry-point discovery, the block list, checks."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

import pluggy

from myspinbot.core import builtin_auth, hookspecs
from myspinbot.core.settings import Settings

ENTRY_POINT_GROUP = "myspinbot"
log = logging.getLogger(__name__)


class PluginError(RuntimeError):
    """A plugin set that cannot start: a clash, a bad declaration or a hook with no spec."""


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin as `GET /api/plugins` and `myspinbot plugins` list it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str]


def make_plugin_manager(settings: Settings, *, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with every hookspec and every installed plugin not blocked by settings."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in settings.disable_plugins:
        pm.set_blocked(name)
    # The kernel's own defaults are plugins too, so other plugins can go in front of them.
    pm.register(builtin_auth, name=builtin_auth.NAME)
    try:
        if load_entry_points:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for module_name in settings.extra_plugins:
            if pm.is_blocked(module_name) or pm.has_plugin(module_name):
                continue
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                raise PluginError(f"MYSPINBOT_EXTRA_PLUGINS: cannot import {module_name!r}: {error}") from error
            pm.register(module, name=module_name)
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {plugin_name(pm, error.plugin)!r} is invalid: {error}") from error
    check_hooks(pm)
    return pm


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Fail when a plugin implements a hook that no spec declares (a typo, usually)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {plugin_name(pm, error.plugin)!r} implements an unknown hook: {error}") from error


def plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """The name a plugin was registered under (its entry-point name for installed plugins)."""
    return pm.get_name(plugin) or repr(plugin)


def hook_callers(pm: pluggy.PluginManager, hook_name: str) -> list[tuple[str, pluggy.HookCaller]]:
    """One caller per plugin that implements `hook_name`, in registration order, each named after
    its plugin. Each is pluggy's own subset caller: argument selection, every plugin's wrappers and
    tracing apply as for `pm.hook`, only the other plugins' plain implementations are left out."""
    impls = getattr(pm.hook, hook_name).get_hookimpls()  # registration order
    plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
    callers = []
    for impl in plain:
        others = [other.plugin for other in plain if other.plugin is not impl.plugin]
        callers.append((plugin_name(pm, impl.plugin), pm.subset_hook_caller(hook_name, remove_plugins=others)))
    return callers


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Call a hook plugin by plugin through pluggy, yielding (plugin name, result) so callers can
    tell which plugin declared what (clash messages). A plugin that returns None yields None."""
    for name, caller in hook_callers(pm, hook_name):
        results = caller(**kwargs)
        yield name, results[0] if results else None


async def call_lifecycle_hook(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """Call `startup` or `shutdown` plugin by plugin in the API, awaiting what a plugin returns
    that is awaitable; one plugin's failure is logged with its name and the others still run."""
    for name, caller in hook_callers(pm, hook_name):
        try:
            for result in caller(**kwargs):
                if inspect.isawaitable(result):
                    await result
        except Exception:
            log.exception("plugin %s failed in %s", name, hook_name)


def call_lifecycle_hook_sync(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> None:
    """The same in a worker, outside any event loop: an awaitable a plugin returns runs to its
    end on a loop of its own."""
    for name, caller in hook_callers(pm, hook_name):
        try:
            for result in caller(**kwargs):
                if inspect.isawaitable(result):
                    asyncio.run(awaited(result))
        except Exception:
            log.exception("plugin %s failed in %s", name, hook_name)


async def awaited(awaitable: Awaitable[Any]) -> Any:
    """`awaitable`'s result, as a coroutine (asyncio.run takes only those)."""
    return await awaitable


def list_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with the distribution it came from and the hooks it implements."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist = dists.get(id(plugin))
        callers = pm.get_hookcallers(plugin) or []
        infos.append(
            PluginInfo(
                name=name,
                distribution=getattr(dist, "project_name", None),
                version=getattr(dist, "version", None),
                hooks=sorted(caller.name for caller in callers),
            )
        )
    return sorted(infos, key=lambda info: info.name)
