"""API errors decode to one `ApiError`; the client finds the API from arguments, then the environment."""

from __future__ import annotations

import json
import socket

import pytest

from myspinbot_client import ApiError, ApiUnavailable, FieldError, MySpinBotClient
from myspinbot_client.connection import Connection
from myspinbot_client.errors import error_from_response


def test_the_common_error_shape_decodes_with_its_field_errors() -> None:
    """A 422 body gives status, code, message and one FieldError per bad field."""
    body = {
        "error": {
            "status": 422,
            "code": "invalid_params",
            "message": "invalid parameters: num_frames",
            "details": [{"field": "num_frames", "message": "must be 4k+1"}],
        }
    }
    error = error_from_response(422, json.dumps(body).encode())
    assert (error.status, error.code, error.message) == (422, "invalid_params", "invalid parameters: num_frames")
    assert error.details == [FieldError(field="num_frames", message="must be 4k+1")]
    assert "num_frames: must be 4k+1" in str(error)
    assert error.to_json() == body


def test_bodies_not_in_the_common_shape_still_become_api_errors() -> None:
    """A framework default body or a proxy's HTML page becomes an ApiError with an http_<status> code."""
    default = error_from_response(405, b'{"detail": "Method Not Allowed"}')
    assert (default.status, default.code, default.message) == (405, "http_405", "Method Not Allowed")
    html = error_from_response(502, b"<html>Bad Gateway</html>", "Bad Gateway")
    assert html.code == "http_502"
    assert html.message.startswith("Bad Gateway: <html>")


def test_arguments_win_over_the_environment_which_wins_over_the_default() -> None:
    """base_url and token come from the constructor, else MYSPINBOT_API_URL / _TOKEN, else the default URL."""
    env = {"MYSPINBOT_API_URL": "http://api.example:3000/", "MYSPINBOT_API_TOKEN": "s3cret-token-value"}
    assert Connection.resolve(env={}) == Connection("http://127.0.0.1:3000", None)
    assert Connection.resolve(env=env) == Connection("http://api.example:3000", "s3cret-token-value")
    assert Connection.resolve("https://other", "mine", env=env) == Connection("https://other", "mine")
    assert Connection.resolve(env=env).headers == {"Authorization": "Bearer s3cret-token-value"}


def test_the_websocket_url_follows_the_base_url() -> None:
    """http becomes ws and https wss, under any path prefix, with the query encoded."""
    connection = Connection("https://host/prefix")
    url = connection.ws_url("/ws", {"jobs": "a,b", "last_event_id": "1-0"})
    assert url == "wss://host/prefix/ws?jobs=a,b&last_event_id=1-0"
    assert Connection("http://h:3000").ws_url() == "ws://h:3000/ws"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_api_raises_api_unavailable() -> None:
    """With nothing listening, calls raise ApiUnavailable (an ApiError with status 0) naming the URL."""
    url = f"http://127.0.0.1:{closed_port()}"
    with MySpinBotClient(url, timeout=2) as api, pytest.raises(ApiUnavailable) as caught:
        api.health()
    assert isinstance(caught.value, ApiError)
    assert caught.value.status == 0
    assert url in str(caught.value)


def test_watch_gives_up_on_an_unreachable_api_after_its_reconnect_window() -> None:
    """A watch retries a refused connection with backoff, then raises ApiUnavailable; each retry is told."""
    retries: list[float] = []
    with MySpinBotClient(f"http://127.0.0.1:{closed_port()}") as api, pytest.raises(ApiUnavailable):
        list(api.watch("a" * 32, reconnect_for=0.5, on_reconnect=lambda error, delay: retries.append(delay)))
    assert retries
