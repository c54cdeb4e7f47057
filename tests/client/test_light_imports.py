"""The client and the dashboard run without the kernel: importing them loads no `myspinbot` module."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import REPO_ROOT

# Every module of the client and the dashboard's entry points (its app, server and command).
LIGHT_MODULES = [
    "myspinbot_client",
    "myspinbot_client.cli",
    "myspinbot_client.frames",
    "myspinbot_client.models",
    "myspinbot_client.live_bars",
    "myspinbot_ui",
    "myspinbot_ui.app",
    "myspinbot_ui.server",
    "myspinbot_ui.cli",
]
# The kernel, its plugins and the server-side libraries the client must not need.
HEAVY = ("myspinbot", "myspinbot_redis_store", "myspinbot_metrics", "celery", "kombu", "redis")


def test_the_dashboard_and_client_import_nothing_of_the_kernel() -> None:
    """In a fresh interpreter, importing the client and the dashboard leaves the kernel, Celery and Redis unloaded."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {LIGHT_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # Run from outside the repository so `kernel/` on a path cannot be picked up by accident.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT.parent, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    assert set(LIGHT_MODULES) <= loaded
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert heavy == [], f"the light side loaded {heavy}"
