"""Signed deliveries: the headers every attempt carries and how a receiver checks them."""

from __future__ import annotations

import hashlib
import hmac
import secrets

DELIVERY_HEADER = "X-MySpinBot-Delivery"
EVENT_HEADER = "X-MySpinBot-Event"
TIMESTAMP_HEADER = "X-MySpinBot-Timestamp"
SIGNATURE_HEADER = "X-MySpinBot-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret (shown once, when the subscription is made)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, delivery_id: str, event: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt; the timestamp is the attempt's, so a replay can be spotted."""
    stamp = str(timestamp)
    return {
        "Content-Type": "application/json",
        "User-Agent": "MySpinBot-Webhooks/0.1",
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, stamp, body),
    }


def verify(secret: str, timestamp: str, body: bytes, presented: str) -> bool:
    """True when the presented signature is the one the secret gives (constant-time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), presented)
