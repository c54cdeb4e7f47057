"""The notifications page's pure parts: form checks, API refusals as text, delivery summaries."""

from __future__ import annotations

from datetime import UTC, datetime

from myspinbot_client import ApiError, FieldError, WebhookAttempt, WebhookDelivery
from myspinbot_client.webhooks import DeliveryState
from myspinbot_ui.notifications import api_problem, form_problem
from myspinbot_ui.views.notifications import attempt_summary


def test_form_asks_for_a_url_and_an_event() -> None:
    """An empty URL or no event is caught before the API is asked."""
    assert form_problem(" ", ["job.failed"]) == "Enter the receiver's URL (https://…)."
    assert form_problem("https://x.example", []) == "Choose at least one event."
    assert form_problem("https://x.example", ["job.failed"]) is None


def test_api_refusals_show_the_field_message() -> None:
    """A 422 shows what its details say; another error its message."""
    refused = ApiError(
        422, "invalid_params", "invalid parameters: url", [FieldError(field="url", message="only https:// …")]
    )
    assert api_problem(refused) == "only https:// …"
    assert api_problem(ApiError(503, "store_unavailable", "Redis is away")) == "Redis is away"


def test_delivery_summary_names_attempts_last_status_and_failure() -> None:
    """The row says how many attempts, the last answer and its latency, and why it failed."""
    now = datetime.now(UTC)
    pending = WebhookDelivery(id="whd_1", subscription_id="wh_1", event="ping", created_at=now)
    assert attempt_summary(pending) == "not sent yet"
    attempts = (
        WebhookAttempt(at=now, status_code=500, latency_ms=12.0, error="HTTP 500"),
        WebhookAttempt(at=now, latency_ms=2000.4, error="timed out after 2 s"),
    )
    failed = pending.model_copy(
        update={"state": DeliveryState.FAILED, "attempts": list(attempts), "error": "gave up after 2 attempts in 60 s"}
    )
    assert attempt_summary(failed) == (
        "2 attempts · last timed out after 2 s in 2000 ms · gave up after 2 attempts in 60 s"
    )
