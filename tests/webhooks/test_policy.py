"""Pure decisions of the webhooks plugin: address policy, retry schedule, attempt outcomes, signatures."""

from __future__ import annotations

import ipaddress

import pytest

from myspinbot_webhooks.config import WebhookSettings
from myspinbot_webhooks.deliverer import after_attempt
from myspinbot_webhooks.models import DeliveryState
from myspinbot_webhooks.outbox import delivery_id_for, new_delivery
from myspinbot_webhooks.safety import UnsafeUrl, address_allowed, check_addresses
from myspinbot_webhooks.sender import AttemptResult, Outcome, classify_status, pinned_url, retry_delay
from myspinbot_webhooks.signing import signature, signed_headers, verify


def settings(**values: object) -> WebhookSettings:
    return WebhookSettings.model_validate(values)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_pass_by_default(address: str, allowed: bool) -> None:
    """Loopback, private, link-local, shared, mapped and multicast addresses are restricted."""
    assert address_allowed(ipaddress.ip_address(address), []) is allowed


def test_allow_private_names_exactly_what_it_allows() -> None:
    """MYSPINBOT_WEBHOOK_ALLOW_PRIVATE opens the listed ranges and nothing more."""
    policy = settings(allow_private="127.0.0.1, 10.0.0.0/8")
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), policy.allow_private)
    assert address_allowed(ipaddress.ip_address("10.9.8.7"), policy.allow_private)
    assert not address_allowed(ipaddress.ip_address("127.0.0.2"), policy.allow_private)
    assert not address_allowed(ipaddress.ip_address("192.168.0.1"), policy.allow_private)


def test_every_resolved_address_must_pass() -> None:
    """A name answering one public and one private address is refused, naming the private one."""
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.1"):
        check_addresses("mixed.example", [public, private], settings())
    assert check_addresses("ok.example", [public], settings()) == public


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    """5 s, 10 s, 20 s … never above the cap."""
    assert [retry_delay(n, 5, 600) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_delay(20, 5, 600) == 600


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCEEDED),
        (204, Outcome.SUCCEEDED),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (301, Outcome.REJECTED),
    ],
)
def test_which_answers_are_retried(status: int, outcome: Outcome) -> None:
    """2xx succeeds; 5xx, 408 and 429 retry; other 4xx and redirects fail at once."""
    assert classify_status(status) is outcome


def test_a_retry_past_the_window_fails_the_delivery() -> None:
    """Retries stop once the next one would start after the window; the error says so."""
    policy = settings(retry_base_seconds=10, retry_window_seconds=25)
    delivery = new_delivery("wh_1", "job.failed", "whd_1", "{}", "job", now=1000.0)
    timeout = AttemptResult(Outcome.RETRY, None, 2000.0, "timed out after 10 s")
    first, due = after_attempt(delivery, timeout, policy, now=1001.0)
    assert first.state is DeliveryState.PENDING and due == 1011.0
    second, due = after_attempt(first, timeout, policy, now=1012.0)
    assert second.state is DeliveryState.FAILED and due is None
    assert second.error == "gave up after 2 attempts in 25 s"
    rejected, due = after_attempt(delivery, AttemptResult(Outcome.REJECTED, 404, 3.0, "HTTP 404"), policy, 1001.0)
    assert rejected.state is DeliveryState.FAILED and rejected.error == "HTTP 404" and due is None


def test_signature_covers_timestamp_and_body() -> None:
    """The signature changes with the timestamp or the body and verifies only with the secret."""
    headers = signed_headers("whsec_k", "whd_1", "job.succeeded", 1700000000, b'{"a":1}')
    assert headers["X-MySpinBot-Signature"] == signature("whsec_k", "1700000000", b'{"a":1}')
    assert verify("whsec_k", "1700000000", b'{"a":1}', headers["X-MySpinBot-Signature"])
    assert not verify("whsec_k", "1700000001", b'{"a":1}', headers["X-MySpinBot-Signature"])
    assert not verify("whsec_other", "1700000000", b'{"a":1}', headers["X-MySpinBot-Signature"])


def test_delivery_ids_are_stable_per_event_and_subscription() -> None:
    """A repeated fan-out of one event makes the same delivery id; another subscription another."""
    assert delivery_id_for("1-0", "wh_a") == delivery_id_for("1-0", "wh_a") != delivery_id_for("1-0", "wh_b")


def test_attempts_connect_to_the_checked_address() -> None:
    """The request URL carries the resolved address, never the name again."""
    from urllib.parse import urlsplit

    from myspinbot_webhooks.safety import Target

    target = Target(urlsplit("https://hooks.example/x?y=1"), "hooks.example", 443, ipaddress.ip_address("2606::1"))
    assert pinned_url(target) == "https://[2606::1]:443/x?y=1"


def test_logs_show_only_the_receivers_origin() -> None:
    """Paths and queries (where receivers often put secrets) never reach a log line."""
    from myspinbot_webhooks.safety import loggable

    assert loggable("https://hooks.slack.example/services/T000/B000/XXXXSECRET") == "https://hooks.slack.example/…"
    assert loggable("http://127.0.0.1:8080/?token=abc") == "http://127.0.0.1:8080/…"
    assert loggable("https://example.com") == "https://example.com/"


def test_retry_after_lengthens_the_wait_up_to_the_cap() -> None:
    """A 429 with Retry-After waits at least that long, never past the longest wait."""
    from myspinbot_webhooks.sender import retry_after_seconds

    policy = settings(retry_base_seconds=1, retry_max_seconds=30)
    delivery = new_delivery("wh_1", "job.failed", "whd_1", "{}", "job", now=1000.0)
    busy = AttemptResult(Outcome.RETRY, 429, 5.0, "HTTP 429", retry_after=20.0)
    assert after_attempt(delivery, busy, policy, now=1000.0)[1] == 1020.0
    slow = AttemptResult(Outcome.RETRY, 429, 5.0, "HTTP 429", retry_after=3600.0)
    assert after_attempt(delivery, slow, policy, now=1000.0)[1] == 1030.0
    assert retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
