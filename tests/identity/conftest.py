"""Fixtures of the identity suite: the API with auth on, and people of every role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from myspinbot import Settings
from myspinbot.api.app import create_app
from tests.identity.support import People, make_people, own_client_address
from tests.reliability.support import TOKEN


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    """Auth on, the bootstrap token set, failure limits small enough to reach in a test."""
    return settings.model_copy(update={"auth": "on", "api_token": TOKEN, "auth_max_failures": 6, "auth_slow_after": 2})


@pytest.fixture
def api(auth_settings: Settings) -> Iterator[TestClient]:
    """The API with auth on, served in-process on the session Redis."""
    with TestClient(create_app(auth_settings), client=own_client_address()) as client:
        yield client


@pytest.fixture
def people(api: TestClient) -> People:
    """An admin, two members and a viewer with keys of their own."""
    return make_people(api)
