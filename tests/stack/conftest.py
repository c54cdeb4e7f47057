"""Fixtures shared by the stack tests: the real Compose binary and the resolved compose file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from stack_compose import resolved_config
from stack_tools import require_tool


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    """The Docker Compose v2 binary."""
    binary: Path = require_tool("docker-compose")
    return binary


@pytest.fixture(scope="session")
def stack(compose_bin: Path) -> dict[str, Any]:
    """The compose file resolved with every profile's services (Redis Insight included)."""
    config: dict[str, Any] = resolved_config(compose_bin, "--profile", "tools")
    return config
