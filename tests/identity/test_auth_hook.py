"""The authenticate hook: a plugin in front of the built-in one (a proxy's forward-auth header), first result wins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from myspinbot import Credentials, IdentityStore, Kernel, Principal, Role, Settings
from myspinbot.api.app import create_app
from myspinbot.core.accounts import add_user, create_key
from myspinbot.core.credentials import key_digest
from myspinbot.core.plugins import make_plugin_manager
from tests.identity.support import BOOTSTRAP
from tests.support.plugins import plugin

FORWARDED_USER = "x-forwarded-user"


def trust_forward_auth(credentials: Credentials) -> Principal | None:
    """What an OIDC proxy plugin does: a user the proxy vouched for (here: any name in the header)."""
    name = credentials.headers.get(FORWARDED_USER)
    return Principal(name, Role.MEMBER, via="forward-auth") if name else None


@pytest.fixture
def proxied(auth_settings: Settings) -> Iterator[TestClient]:
    """The API with a forward-auth plugin registered next to the built-in keys/passwords plugin."""
    pm = make_plugin_manager(auth_settings)
    pm.register(plugin(authenticate=trust_forward_auth), name="forward-auth")
    with TestClient(create_app(auth_settings, pm)) as client:
        yield client


def test_a_plugin_authenticate_goes_first_and_the_builtin_stays_the_default(proxied: TestClient) -> None:
    """authenticate: the plugin's Principal wins for a forwarded user; keys still reach the built-in plugin;
    neither recognising the caller is 401; the forwarded member's jobs are its own."""
    me = proxied.get("/api/auth/me", headers={"X-Forwarded-User": "olive"})
    assert me.status_code == 200 and me.json() == {
        "name": "olive",
        "role": "member",
        "via": "forward-auth",
        "key_id": None,
    }
    assert proxied.get("/api/auth/me", headers=BOOTSTRAP).json()["via"] == "bootstrap"
    assert proxied.get("/api/auth/me").status_code == 401
    job = proxied.post("/api/jobs/sleepy", json={"steps": 1}, headers={"X-Forwarded-User": "olive"})
    assert job.status_code == 202 and job.json()["owner"] == "olive"
    other = proxied.get(f"/api/jobs/{job.json()['id']}", headers={"X-Forwarded-User": "oscar"})
    assert other.status_code == 404


def test_the_builtin_plugin_is_registered_last_so_others_go_first(auth_settings: Settings) -> None:
    """The kernel registers `builtin-auth` trylast: pluggy calls every other authenticate before it."""
    pm = make_plugin_manager(auth_settings)
    pm.register(plugin(authenticate=trust_forward_auth), name="forward-auth")
    kernel = Kernel(auth_settings, pm)
    order = [kernel.pm.get_name(impl.plugin) for impl in reversed(kernel.pm.hook.authenticate.get_hookimpls())]
    assert order == ["forward-auth", "builtin-auth"]


def test_the_identity_store_comes_from_the_identity_store_hook(auth_settings: Settings) -> None:
    """identity_store: the first non-None answer is the kernel's store; the Redis plugin provides it by default."""
    pm = make_plugin_manager(auth_settings)
    asked: list[str] = []
    pm.register(plugin(identity_store=lambda settings: asked.append(settings.redis_url)), name="declines")
    kernel = Kernel(auth_settings, pm)
    assert type(kernel.identity).__name__ == "RedisIdentityStore"
    assert isinstance(kernel.identity, IdentityStore)
    assert asked == [auth_settings.redis_url]


async def test_a_key_and_its_user_come_back_in_one_lookup_only_while_both_exist(auth_settings: Settings) -> None:
    """`key_and_user_by_digest` (each request's authentication) answers the key's record and its
    user's, and None for an unknown digest, a revoked key or a key whose user record is gone."""
    kernel = Kernel(auth_settings)
    identity = kernel.identity
    try:
        await add_user(identity, "lookup-user", Role.MEMBER, None)
        made = await create_key(identity, auth_settings, "lookup-user", "one lookup")
        found = await identity.key_and_user_by_digest(key_digest(auth_settings, made.key))
        assert found is not None
        record, user = found
        assert (record.id, record.user, user.name, user.role) == (
            made.record.id,
            "lookup-user",
            "lookup-user",
            Role.MEMBER,
        )
        assert await identity.key_and_user_by_digest(key_digest(auth_settings, made.key + "x")) is None

        other = await create_key(identity, auth_settings, "lookup-user", "user gone")
        await identity.redis.delete(identity.keys.user("lookup-user"))  # the user's record only, not its keys
        assert await identity.key_and_user_by_digest(key_digest(auth_settings, other.key)) is None

        await add_user(identity, "lookup-user", Role.MEMBER, None)
        assert await identity.key_and_user_by_digest(key_digest(auth_settings, made.key)) is not None
        await identity.revoke_key(made.record.id)
        assert await identity.key_and_user_by_digest(key_digest(auth_settings, made.key)) is None
    finally:
        await identity.delete_user("lookup-user")
        await kernel.close_identity()
        await kernel.store.close()
