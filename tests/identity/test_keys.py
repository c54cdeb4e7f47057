"""API keys: shown once, stored only as a keyed hash, named, last-used, revocable at once (also on an open WS)."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from myspinbot.core.settings import Settings
from tests.identity.support import BOOTSTRAP, People
from tests.kernel.test_errors import assert_error_shape


def test_a_key_is_shown_once_and_stored_only_as_a_hash(
    api: TestClient, people: People, auth_settings: Settings
) -> None:
    """The key is in the creation answer only; no Redis key or value holds it; listings show name and last use."""
    made = api.post("/api/keys", json={"name": "laptop"}, headers=people.alice.headers)
    assert made.status_code == 201
    key, record = made.json()["key"], made.json()["record"]
    assert key.startswith("msb_") and len(key) > 40
    assert record["name"] == "laptop" and record["user"] == people.alice.name and record["last_used_at"] is None
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"}).json()["name"] == people.alice.name
    listed = api.get("/api/keys", headers=people.alice.headers).json()
    mine = next(item for item in listed if item["id"] == record["id"])
    assert mine["last_used_at"] is not None and "key" not in mine and "digest" not in mine
    assert key not in api.get("/api/keys", headers=people.alice.headers).text

    store = redis.Redis.from_url(auth_settings.redis_url, decode_responses=True)
    for name in store.scan_iter("*"):
        assert key not in name
        kind = store.type(name)
        if kind == "string":
            assert key not in (store.get(name) or "")
        elif kind == "hash":
            assert all(key not in value for value in store.hgetall(name).values())
    passwords = [store.hget(f"myspinbot:user:{person.name}", "pw") or "" for person in people.everyone]
    assert all(value.startswith("$argon2id$") for value in passwords)
    store.close()


def test_a_revoked_key_stops_at_once_on_requests_and_on_an_open_ws(api: TestClient, people: People) -> None:
    """Revoking a key: its next request is 401 and its open WebSocket is closed with 4401."""
    made = api.post("/api/keys", json={"name": "to revoke"}, headers=people.alice.headers).json()
    headers = {"Authorization": f"Bearer {made['key']}"}
    with api.websocket_connect("/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "snapshot"  # queue frames, if any, come later
        assert api.delete(f"/api/keys/{made['record']['id']}", headers=people.alice.headers).status_code == 204
        try:
            while True:
                ws.receive_json()  # whatever was queued before the close
        except WebSocketDisconnect as closed:
            assert closed.code == 4401
    refused = api.get("/api/jobs", headers=headers)
    assert refused.status_code == 401
    assert_error_shape(refused.json(), 401, "unauthorized")
    assert api.get("/api/jobs", headers=people.alice.headers).status_code == 200  # her other key still works


def test_a_member_cannot_revoke_another_members_key_an_admin_can_revoke_all(api: TestClient, people: People) -> None:
    """Bob's DELETE of alice's key is 404; the admin's revoke of all alice's keys ends every one of them."""
    assert api.delete(f"/api/keys/{people.alice.key_id}", headers=people.bob.headers).status_code == 404
    assert api.get("/api/keys", params={"user": people.alice.name}, headers=people.bob.headers).status_code == 403
    assert api.get("/api/auth/me", headers=people.alice.headers).status_code == 200
    revoked = api.delete(f"/api/users/{people.alice.name}/keys", headers=people.admin.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 1
    assert api.get("/api/auth/me", headers=people.alice.headers).status_code == 401


def test_admin_manages_users_role_password_and_removal(api: TestClient, people: People) -> None:
    """Add, set role, reset password (old one refused, new one logs in), remove (its keys stop)."""
    name = f"carol-{people.alice.name[-8:]}"
    added = api.post(
        "/api/users", json={"name": name, "role": "member", "password": "first password"}, headers=BOOTSTRAP
    )
    assert added.status_code == 201 and added.json() == {**added.json(), "role": "member", "has_password": True}
    assert api.post("/api/users", json={"name": name}, headers=BOOTSTRAP).status_code == 409
    bad = api.post("/api/users", json={"name": "Bad Name!"}, headers=BOOTSTRAP)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "name"
    short = api.patch(f"/api/users/{name}", json={"password": "short"}, headers=BOOTSTRAP)
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "password"
    session = api.post("/api/auth/login", json={"username": name, "password": "first password"}).json()
    assert session["user"]["role"] == "member"
    changed = api.patch(f"/api/users/{name}", json={"role": "viewer", "password": "second password"}, headers=BOOTSTRAP)
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    # A password reset ends the sessions made with the old one.
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {session['key']}"}).status_code == 401
    assert api.post("/api/auth/login", json={"username": name, "password": "first password"}).status_code == 401
    fresh = api.post("/api/auth/login", json={"username": name, "password": "second password"}).json()
    assert fresh["user"]["role"] == "viewer"
    assert api.delete(f"/api/users/{name}", headers=BOOTSTRAP).status_code == 204
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh['key']}"}).status_code == 401
    assert api.get(f"/api/users/{name}", headers=BOOTSTRAP).status_code == 404
