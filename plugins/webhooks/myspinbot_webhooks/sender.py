"""One attempt: POST the signed body to the checked address, read a bounded response, classify it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from enum import StrEnum

import httpx

from myspinbot_webhooks.config import WebhookSettings
from myspinbot_webhooks.safety import Resolver, Target, UnsafeUrl, resolve_target, system_resolve
from myspinbot_webhooks.signing import signed_headers


class Outcome(StrEnum):
    """What an attempt means for its delivery."""

    SUCCEEDED = "succeeded"  # 2xx
    RETRY = "retry"  # timeout, connection error, 5xx, 408, 429
    REJECTED = "rejected"  # any other answer (4xx, 3xx: redirects are not followed)
    REFUSED = "refused"  # the URL or its address is not allowed (SSRF guard)


RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class AttemptResult:
    """The receiver's status (if it answered), the time taken and, on failure, why."""

    outcome: Outcome
    status_code: int | None
    latency_ms: float
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After on 429/503)


def classify_status(status: int) -> Outcome:
    """2xx succeeds; 5xx, 408 and 429 are retried; anything else will not change on a retry."""
    if 200 <= status < 300:
        return Outcome.SUCCEEDED
    if status >= 500 or status in RETRY_STATUSES:
        return Outcome.RETRY
    return Outcome.REJECTED


def retry_delay(failed_attempts: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2·base, 4·base, … never above cap."""
    return float(min(cap, base * 2 ** max(0, failed_attempts - 1)))


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header given in seconds, or None (an HTTP date or garbage is ignored)."""
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def pinned_url(target: Target) -> str:
    """The URL with its host replaced by the checked address, so no second lookup can differ."""
    host = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    path = target.url.path or "/"
    query = f"?{target.url.query}" if target.url.query else ""
    return f"{target.url.scheme}://{host}:{target.port}{path}{query}"


def host_header(target: Target) -> str:
    return target.url.netloc.rpartition("@")[2]


class Sender:
    """Sends attempts with one HTTP client per process: no redirects, bounded time and size."""

    def __init__(self, settings: WebhookSettings, resolve: Resolver = system_resolve) -> None:
        self.settings = settings
        self.resolve = resolve
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(settings.timeout_seconds),
            limits=httpx.Limits(max_connections=settings.max_in_flight, max_keepalive_connections=16),
            trust_env=False,  # a proxy would connect to a name we did not check
        )

    async def send(self, url: str, secret: str, delivery_id: str, event: str, body: bytes) -> AttemptResult:
        """One attempt; never raises for anything the receiver or the network does."""
        started = time.perf_counter()

        def elapsed() -> float:
            return round((time.perf_counter() - started) * 1000, 1)

        try:
            target = await resolve_target(url, self.settings, self.resolve)
        except UnsafeUrl as error:
            return AttemptResult(Outcome.REFUSED, None, elapsed(), f"refused: {error}")
        headers = signed_headers(secret, delivery_id, event, int(time.time()), body)
        headers["Host"] = host_header(target)
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                status, retry_after = await self._post(pinned_url(target), headers, body, extensions)
        except TimeoutError:
            return AttemptResult(Outcome.RETRY, None, elapsed(), f"timed out after {self.settings.timeout_seconds:g} s")
        except httpx.HTTPError as error:
            return AttemptResult(Outcome.RETRY, None, elapsed(), f"{type(error).__name__}: {error}".rstrip(": "))
        outcome = classify_status(status)
        problem = None if outcome is Outcome.SUCCEEDED else f"HTTP {status}"
        if 300 <= status < 400:
            problem = f"HTTP {status}: redirects are not followed"
        return AttemptResult(outcome, status, elapsed(), problem, retry_after if outcome is Outcome.RETRY else None)

    async def _post(
        self, url: str, headers: dict[str, str], body: bytes, extensions: dict[str, str]
    ) -> tuple[int, float | None]:
        request = self.client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
        response = await self.client.send(request, stream=True)
        try:
            read = 0
            # Read at most max_response_bytes, so a receiver cannot make us buffer a huge answer.
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= self.settings.max_response_bytes:
                    break
        finally:
            await response.aclose()
        return response.status_code, retry_after_seconds(response.headers.get("retry-after"))

    async def close(self) -> None:
        await self.client.aclose()
