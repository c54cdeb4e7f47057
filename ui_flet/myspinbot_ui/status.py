"""`BackendStatus`: what the header shows about the API, Redis, the workers and the live feed.

Plain Python: the live feed reports health polls and the /ws watch's connections and failures
to it, the header renders it. Times are passed in (monotonic seconds) so the rules are tested
without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from myspinbot_client import ApiError, ApiUnavailable, Health


class Reach(StrEnum):
    """Whether a part of the backend answers."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


class LiveState(StrEnum):
    """The /ws feed: connecting at first, live once the server said hello, reconnecting after a failure."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # an error retrying cannot fix, e.g. a wrong token


@dataclass
class BackendStatus:
    """The backend as the dashboard last saw it."""

    api: Reach = Reach.UNKNOWN
    redis: Reach = Reach.UNKNOWN
    workers_online: int | None = None
    live: LiveState = LiveState.CONNECTING
    problem: str | None = None
    refused: str | None = None  # the API answers but turned the dashboard away (a wrong token, say)
    down_since: float | None = None

    def health_answered(self, health: Health, now: float) -> None:
        """A `GET /health` answer (ok or degraded): the API is up; Redis and workers as reported."""
        self.api = Reach.UP
        self.redis = Reach.UP if _check_ok(health.checks.get("redis"), health.ok) else Reach.DOWN
        self.workers_online = _workers(health.checks.get("workers"))
        if self.redis is Reach.UP:
            self.down_since = None
            if self.live is not LiveState.FAILED:
                self.problem = None
        else:
            self.down_since = self.down_since if self.down_since is not None else now
            self.problem = _redis_problem(health.checks.get("redis"))

    def api_failed(self, error: ApiError, now: float) -> None:
        """A request the dashboard made failed: unreachable means the API is down."""
        if isinstance(error, ApiUnavailable) or error.status == 0:
            if self.api is not Reach.DOWN:
                self.down_since = now
            self.api = Reach.DOWN
            self.redis = Reach.UNKNOWN
            self.workers_online = None
            self.problem = f"Cannot reach the API at {_where(error)}"
        elif error.status in (401, 403) or error.status >= 500:
            self.refused = f"The API refused the dashboard's request: {error.message}"

    def api_answered(self) -> None:
        """A request of the dashboard's succeeded."""
        self.refused = None

    def live_connected(self) -> None:
        """The /ws watch (re)connected and the server said hello: the feed is live."""
        self.live = LiveState.LIVE

    def live_failed(self, error: ApiError, retry_in: float | None) -> None:
        """The /ws feed dropped or could not connect; it retries in `retry_in` seconds (None: gave up)."""
        if retry_in is None:
            self.live = LiveState.FAILED
            self.problem = f"Live updates stopped: {error.message}"
            return
        self.live = LiveState.RECONNECTING

    def live_restarted(self) -> None:
        """The feed was started again (after an error it could not retry, or a browser reconnection)."""
        self.live = LiveState.CONNECTING
        if self.problem and self.problem.startswith("Live updates stopped"):
            self.problem = None

    @property
    def outage(self) -> str | None:
        """The banner's text when something is wrong that the user should know about, else None."""
        if self.api is Reach.DOWN:
            return f"{self.problem}. Retrying… Jobs shown may be out of date."
        if self.redis is Reach.DOWN:
            return f"The API is up but cannot reach Redis ({self.problem}). Jobs cannot be queued until it is back."
        if self.refused:
            return self.refused
        if self.live is LiveState.FAILED:
            return self.problem
        return None


def _check_ok(check: Any, overall_ok: bool) -> bool:
    if isinstance(check, dict) and "status" in check:
        return str(check["status"]) == "ok"
    return overall_ok


def _workers(check: Any) -> int | None:
    if isinstance(check, dict):
        online = check.get("online")
        if isinstance(online, int) and not isinstance(online, bool):
            return online
    return None


def _redis_problem(check: Any) -> str:
    if isinstance(check, dict):
        detail = check.get("error") or check.get("message") or check.get("status")
        if detail:
            return str(detail)
    return "Redis unreachable"


def _where(error: ApiError) -> str:
    url = getattr(error, "url", "")
    if url:
        parts = url.split("/")
        return "/".join(parts[:3]) if len(parts) >= 3 else url
    return "its URL"
