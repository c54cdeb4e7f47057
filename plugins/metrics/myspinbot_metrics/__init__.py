"""The metrics plugin: `/metrics` with HTTP metrics and exact job metrics."""

from __future__ import annotations

from fastapi import FastAPI

from myspinbot import Kernel, hookimpl
from myspinbot_metrics.endpoint import install_metrics

__all__ = ["instrument_app"]


@hookimpl
def instrument_app(app: FastAPI, kernel: Kernel) -> None:
    """Instrument HTTP handlers and serve `/metrics`."""
    install_metrics(app, kernel)
