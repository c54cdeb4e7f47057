"""The ASGI entry uvicorn loads (`myspinbot api` uses it; `--reload` needs an import path)."""

from __future__ import annotations

from fastapi import FastAPI

from myspinbot.api.app import create_app
from myspinbot.core.settings import load_settings


def app_from_env() -> FastAPI:
    """The API built from the environment's settings."""
    return create_app(load_settings())
