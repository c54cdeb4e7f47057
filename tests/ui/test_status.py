"""Backend status: health answers, an unreachable API, and the live feed's state over time."""

from __future__ import annotations

from myspinbot_client import ApiError, ApiUnavailable, Health
from myspinbot_ui.status import BackendStatus, LiveState, Reach

OK = Health.model_validate(
    {"status": "ok", "checks": {"api": {"status": "ok"}, "redis": {"status": "ok"}, "workers": {"online": 2}}}
)
DEGRADED = Health.model_validate(
    {"status": "degraded", "checks": {"redis": {"status": "error", "error": "connection refused"}}}
)


def test_a_healthy_answer_shows_everything_up() -> None:
    """API, Redis and the worker count come from /health; there is no banner."""
    status = BackendStatus()
    status.health_answered(OK, now=0.0)
    assert (status.api, status.redis, status.workers_online) == (Reach.UP, Reach.UP, 2)
    assert status.outage is None


def test_an_unreachable_api_raises_the_banner_until_it_answers() -> None:
    """A refused connection means the API is down; the next answer takes the banner away."""
    status = BackendStatus()
    status.health_answered(OK, now=0.0)
    status.api_failed(ApiUnavailable("http://api:3000/health", "connection refused"), now=5.0)
    assert status.api is Reach.DOWN and status.workers_online is None
    assert status.outage is not None and status.outage.startswith("Cannot reach the API at http://api:3000")
    assert status.down_since == 5.0
    status.health_answered(OK, now=9.0)
    assert status.outage is None and status.down_since is None


def test_redis_down_is_an_outage_of_its_own() -> None:
    """A degraded answer keeps the API up but says Redis is unreachable."""
    status = BackendStatus()
    status.health_answered(DEGRADED, now=1.0)
    assert status.api is Reach.UP and status.redis is Reach.DOWN
    assert status.outage is not None and "connection refused" in status.outage


def test_an_api_error_is_not_an_outage_but_a_refusal_is_shown() -> None:
    """A 404 means the API is there; a 401 (a wrong token) is shown until a request succeeds."""
    status = BackendStatus()
    status.health_answered(OK, now=0.0)
    status.api_failed(ApiError(404, "not_found", "no such job"), now=1.0)
    assert status.api is Reach.UP and status.outage is None
    status.api_failed(ApiError(401, "unauthorized", "missing or wrong API token"), now=2.0)
    assert status.outage == "The API refused the dashboard's request: missing or wrong API token"
    status.api_answered()
    assert status.outage is None


def test_only_a_connection_makes_the_feed_live() -> None:
    """Health answers leave the feed as it is; the watch's hello makes it live, a drop reconnecting."""
    status = BackendStatus()
    status.health_answered(OK, now=0.0)
    assert status.live is LiveState.CONNECTING
    status.live_connected()
    assert status.live is LiveState.LIVE
    status.live_failed(ApiUnavailable("ws://api/ws", "dropped"), retry_in=2.0)
    status.health_answered(OK, now=60.0)
    assert status.live is LiveState.RECONNECTING and status.outage is None
    status.live_connected()
    assert status.live is LiveState.LIVE


def test_a_final_error_stops_the_feed_until_it_is_restarted() -> None:
    """An error retrying cannot fix is shown until the feed is restarted and connects again."""
    status = BackendStatus()
    status.live_connected()
    status.live_failed(ApiError(401, "unauthorized", "wrong token"), retry_in=None)
    assert status.live is LiveState.FAILED and status.outage == "Live updates stopped: wrong token"
    status.health_answered(OK, now=5.0)
    assert status.live is LiveState.FAILED and status.outage == "Live updates stopped: wrong token"
    status.live_restarted()
    assert status.live is LiveState.CONNECTING and status.outage is None
    status.live_connected()
    assert status.live is LiveState.LIVE
