"""Throwaway plugins for tests: objects whose attributes are hook implementations."""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import SimpleNamespace
from typing import Any

from myspinbot import hookimpl


class ThrowawayPlugin(SimpleNamespace):
    """A plugin object made of keyword arguments; hashable by identity, as pluggy's subset
    callers (the kernel calls hooks plugin by plugin through them) need."""

    __hash__ = object.__hash__  # type: ignore[assignment]  # SimpleNamespace says unhashable


def plugin(**hooks: Callable[..., Any]) -> ThrowawayPlugin:
    """A throwaway plugin whose attributes are hook implementations."""
    return ThrowawayPlugin(**{name: hookimpl(function) for name, function in hooks.items()})


def wrapper(calls: list[str], hook_name: str) -> ThrowawayPlugin:
    """A throwaway plugin with a pluggy wrapper around `hook_name` that records each call: it sees
    only calls made through pluggy (`pm.hook` or a subset caller), never a direct call of an
    implementation."""

    def around(**_: Any) -> Generator[None, Any, Any]:
        calls.append(hook_name)
        return (yield)

    return ThrowawayPlugin(**{hook_name: hookimpl(wrapper=True)(around)})
