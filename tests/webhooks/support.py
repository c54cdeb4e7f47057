"""Helpers of the webhook tests: the documented verification recipe, subscriptions, waits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from myspinbot.cli.procs import wait_until
from tests.support.jobs import submit_and_wait
from tests.support.processes import REPO_ROOT

PLUGIN_README = REPO_ROOT / "plugins" / "webhooks" / "README.md"
RECIPE = re.compile(r"<!-- verify-recipe -->\s*```python\n(.*?)```", re.DOTALL)
# What lets the tests' receivers on 127.0.0.1 be used, with quick retries and short leases.
LOOPBACK_ENV = {
    "MYSPINBOT_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1",
    "MYSPINBOT_WEBHOOK_ALLOW_HTTP": "true",
    "MYSPINBOT_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "MYSPINBOT_WEBHOOK_TIMEOUT_SECONDS": "2",
    "MYSPINBOT_WEBHOOK_POLL_SECONDS": "0.05",
}


def webhook_variables() -> set[str]:
    """The variables the webhooks plugin's own settings read (beside the kernel's)."""
    from myspinbot_webhooks.config import WebhookSettings

    names = {f"MYSPINBOT_WEBHOOK_{name.upper()}" for name in WebhookSettings.model_fields}
    names.discard("MYSPINBOT_WEBHOOK_PUBLIC_URL")  # read as MYSPINBOT_PUBLIC_URL (the alias is a fallback)
    return names | {"MYSPINBOT_PUBLIC_URL"}


def documented_verify() -> Callable[[str, dict[str, str], bytes], bool]:
    """The `verify` function of the plugin README's recipe, run exactly as written there."""
    match = RECIPE.search(PLUGIN_README.read_text())
    assert match, "the plugin README lost its verification recipe"
    namespace: dict[str, Any] = {}
    exec(match.group(1), namespace)
    verify: Callable[[str, dict[str, str], bytes], bool] = namespace["verify"]
    return verify


def subscribe(http: httpx.Client, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    """Create a subscription; its JSON, secret included."""
    response = http.post("/api/webhooks", json={"url": url, "events": events, **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(http: httpx.Client, subscription_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/api/webhooks/{subscription_id}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def wait_delivery(
    http: httpx.Client, subscription_id: str, state: str = "succeeded", timeout: float = 30
) -> dict[str, Any]:
    """The subscription's newest delivery, once it is in `state`."""
    found: dict[str, Any] = {}

    def reached() -> bool:
        nonlocal found
        listed = deliveries(http, subscription_id)
        found = listed[0] if listed else {}
        return found.get("state") == state

    wait_until(reached, timeout, what=f"a {state} delivery of {subscription_id}")
    return found


def submit_and_finish(http: httpx.Client, steps: int = 2, timeout: float = 30) -> dict[str, Any]:
    """Run a quick test job to its end; the finished job."""
    return submit_and_wait(http, "/api/jobs/sleepy", {"steps": steps, "step_seconds": 0.01}, timeout)
