"""`RedisIdentityStore`: users, hashed API keys and failed-attempt counters on Redis.

A user is a hash (`json`: the public record, `pw`: its Argon2 hash). A key is a hash holding its
public record and digest, found by its digest through one string key; session keys carry a
Redis expiry, so an expired login is gone without a sweep. Revocations are announced on a
pub/sub channel: a lost message costs nothing, since every request reads the key again (the key
and its user in one script, `KEY_AND_USER`).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import redis.asyncio as aioredis

from myspinbot import ApiKeyRecord, Settings, UserExists, UserRecord, epoch_seconds
from myspinbot_redis_store.connect_retries import retry_connects
from myspinbot_redis_store.failures import unavailable_on_connection_error
from myspinbot_redis_store.keys import Keys

# KEYS: the digest's string key; ARGV: the key-record and user key prefixes. The key's record and
# its user's, as HGETALL lists (the user's empty if it is gone), or nil for an unknown digest.
KEY_AND_USER = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
local key = redis.call('HGETALL', ARGV[1] .. id)
for i = 1, #key, 2 do
  if key[i] == 'json' then
    return {key, redis.call('HGETALL', ARGV[2] .. cjson.decode(key[i + 1]).user)}
  end
end
return {key, {}}
"""


def _expiry_seconds(record: ApiKeyRecord) -> int | None:
    """Seconds until a key expires (at least 1), or None for a key without expiry."""
    if record.expires_at is None:
        return None
    return max(1, int(epoch_seconds(record.expires_at) - time.time()))


def _expired(record: ApiKeyRecord) -> bool:
    return record.expires_at is not None and epoch_seconds(record.expires_at) <= time.time()


class RedisIdentityStore:
    """The kernel's IdentityStore contract on one Redis."""

    def __init__(self, redis: aioredis.Redis, keys: Keys | None = None) -> None:
        self.redis: Any = redis
        self.keys = keys or Keys()
        self._key_and_user = redis.register_script(KEY_AND_USER)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisIdentityStore:
        """A store on MYSPINBOT_REDIS_URL; connections open on first use."""
        client = aioredis.Redis.from_url(
            settings.redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=10, protocol=2
        )
        retry_connects(client.connection_pool)
        return cls(client)

    # --- users ---

    @unavailable_on_connection_error
    async def create_user(self, user: UserRecord) -> None:
        k = self.keys
        created = await self.redis.hsetnx(k.user(user.name), "json", user.public().model_dump_json())
        if not created:
            raise UserExists(user.name)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(k.user(user.name), "pw", user.password_hash)
        pipe.sadd(k.users, user.name)
        await pipe.execute()

    @unavailable_on_connection_error
    async def get_user(self, name: str) -> UserRecord | None:
        raw = await self.redis.hgetall(self.keys.user(name))
        return self._user(raw) if raw.get("json") else None

    @staticmethod
    def _user(raw: dict[str, str]) -> UserRecord:
        record = UserRecord.model_validate_json(raw["json"])
        return record.model_copy(update={"password_hash": raw.get("pw", ""), "has_password": bool(raw.get("pw"))})

    @unavailable_on_connection_error
    async def list_users(self) -> builtins.list[UserRecord]:
        names = sorted(await self.redis.smembers(self.keys.users))
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.user(name))
        rows = cast(list[dict[str, str]], await pipe.execute())
        return [self._user(raw) for raw in rows if raw.get("json")]

    @unavailable_on_connection_error
    async def update_user(self, user: UserRecord) -> None:
        await self.redis.hset(
            self.keys.user(user.name), mapping={"json": user.public().model_dump_json(), "pw": user.password_hash}
        )

    @unavailable_on_connection_error
    async def delete_user(self, name: str) -> bool:
        k = self.keys
        for record in await self.list_keys(name):
            await self.revoke_key(record.id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(k.user(name))
        pipe.srem(k.users, name)
        pipe.delete(k.user_keys(name))
        removed, _, _ = await pipe.execute()
        await self.announce_revoked(f"user:{name}")
        return bool(removed)

    # --- keys ---

    @unavailable_on_connection_error
    async def add_key(self, key: ApiKeyRecord) -> None:
        k = self.keys
        ttl = _expiry_seconds(key)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(k.key_record(key.id), mapping={"json": key.public().model_dump_json(), "digest": key.digest})
        pipe.set(k.key_digest(key.digest), key.id)
        pipe.sadd(k.user_keys(key.user), key.id)
        if ttl is not None:
            pipe.expire(k.key_record(key.id), ttl)
            pipe.expire(k.key_digest(key.digest), ttl)
        await pipe.execute()

    async def _key(self, key_id: str) -> ApiKeyRecord | None:
        raw = await self.redis.hgetall(self.keys.key_record(key_id))
        return self._record(raw) if raw.get("json") else None

    @staticmethod
    def _record(raw: dict[str, str]) -> ApiKeyRecord:
        record = ApiKeyRecord.model_validate({**json.loads(raw["json"]), "digest": raw["digest"]})
        if raw.get("used"):
            record = record.model_copy(update={"last_used_at": raw["used"]})
        return record

    @unavailable_on_connection_error
    async def key_by_digest(self, digest: str) -> ApiKeyRecord | None:
        key_id = await self.redis.get(self.keys.key_digest(digest))
        if key_id is None:
            return None
        record = await self._key(key_id)
        if record is None or record.digest != digest or _expired(record):
            return None
        return record

    @unavailable_on_connection_error
    async def key_and_user_by_digest(self, digest: str) -> tuple[ApiKeyRecord, UserRecord] | None:
        k = self.keys
        found = await self._key_and_user(keys=[k.key_digest(digest)], args=[k.key_record(""), k.user("")])
        if not found:
            return None
        key_fields, user_fields = (dict(zip(raw[::2], raw[1::2], strict=True)) for raw in found)
        if not key_fields.get("json") or not user_fields.get("json"):
            return None
        record = self._record(key_fields)
        if record.digest != digest or _expired(record):
            return None
        return record, self._user(user_fields)

    @unavailable_on_connection_error
    async def list_keys(self, user: str) -> builtins.list[ApiKeyRecord]:
        k = self.keys
        found = []
        gone = []
        for key_id in await self.redis.smembers(k.user_keys(user)):
            record = await self._key(key_id)
            if record is None:
                gone.append(key_id)  # expired session key: forget it lazily
            else:
                found.append(record)
        if gone:
            await self.redis.srem(k.user_keys(user), *gone)
        return sorted(found, key=lambda record: record.created_at)

    @unavailable_on_connection_error
    async def revoke_key(self, key_id: str) -> ApiKeyRecord | None:
        k = self.keys
        record = await self._key(key_id)
        if record is None:
            return None
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(k.key_record(key_id))
        pipe.delete(k.key_digest(record.digest))
        pipe.srem(k.user_keys(record.user), key_id)
        await pipe.execute()
        await self.announce_revoked(key_id)
        return record

    @unavailable_on_connection_error
    async def touch_key(self, key_id: str, when: str) -> None:
        # HSET only if the record still exists (a revoke may have raced us): no resurrected key.
        await self.redis.eval(
            "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'used', ARGV[1]) end",
            1,
            self.keys.key_record(key_id),
            when,
        )

    # --- failed attempts ---

    @unavailable_on_connection_error
    async def count_failure(self, scope: str, window_seconds: int) -> tuple[int, int]:
        key = self.keys.auth_failures(scope)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    @unavailable_on_connection_error
    async def failures(self, scope: str) -> tuple[int, int]:
        key = self.keys.auth_failures(scope)
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = await pipe.execute()
        return int(count or 0), max(1, int(ttl))

    @unavailable_on_connection_error
    async def clear_failures(self, scope: str) -> None:
        await self.redis.delete(self.keys.auth_failures(scope))

    # --- revocations ---

    @unavailable_on_connection_error
    async def announce_revoked(self, subject: str) -> None:
        await self.redis.publish(self.keys.revocations, subject)

    async def revocations(self) -> AsyncIterator[str]:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.keys.revocations)
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is not None and message.get("type") == "message":
                    yield str(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def close(self) -> None:
        await self.redis.aclose()
