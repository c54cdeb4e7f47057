"""`RedisTelemetryStore`: metric points, log lines, previews and the live telemetry stream on Redis.

Every key here is apart from the job records and the state event stream: a burst of points
grows only the job's own list and the telemetry stream, never `myspinbot:events`.
"""

from __future__ import annotations

import base64
import builtins
import json
from typing import Any

from myspinbot import (
    MAX_LOG_LINES,
    MAX_POINTS_PER_JOB,
    BatchWritten,
    LogLine,
    MetricPoint,
    Preview,
    TelemetryBatch,
    TelemetryKind,
    TelemetryNotice,
)
from myspinbot_redis_store.failures import unavailable_on_connection_error
from myspinbot_redis_store.keys import Keys

# The live stream carries one notice per worker flush (not one per point), so this is minutes of history.
NOTICES_MAX_LEN = 5_000

# KEYS: points, meta, logs, notices, stats
# ARGV: max points, max log lines, ttl seconds, notices maxlen, job id, metric notice payload,
#       point count N, N point JSONs, log count M, M × (time, level, message)
# Returns {points kept, points dropped, first log seq}.
WRITE = """
local max_points, max_logs, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = tonumber(ARGV[7])
local stored = tonumber(redis.call('HGET', KEYS[2], 'points') or '0')
local kept = math.max(0, math.min(n, max_points - stored))
local dropped = n - kept
if kept > 0 then
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 8, 7 + kept))
  redis.call('HINCRBY', KEYS[2], 'points', kept)
  redis.call('HINCRBY', KEYS[5], 'telemetry_points', kept)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'k', 'job.metric', 'j', ARGV[5], 'p', ARGV[6])
end
if dropped > 0 then
  redis.call('HINCRBY', KEYS[2], 'dropped', dropped)
  redis.call('HINCRBY', KEYS[5], 'telemetry_dropped', dropped)
end
local at = 8 + n
local m = tonumber(ARGV[at])
local first_seq = 0
if m > 0 then
  local lines = {}
  for i = 0, m - 1 do
    local seq = redis.call('HINCRBY', KEYS[2], 'log_seq', 1)
    if i == 0 then first_seq = seq end
    local line = cjson.encode({seq, ARGV[at + 1 + 3 * i], ARGV[at + 2 + 3 * i], ARGV[at + 3 + 3 * i]})
    redis.call('RPUSH', KEYS[3], line)
    lines[#lines + 1] = line
  end
  redis.call('LTRIM', KEYS[3], -max_logs, -1)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'k', 'job.log', 'j', ARGV[5],
             'p', '[' .. table.concat(lines, ',') .. ']')
  redis.call('EXPIRE', KEYS[3], ttl)
end
if kept > 0 then redis.call('EXPIRE', KEYS[1], ttl) end
redis.call('EXPIRE', KEYS[2], ttl)
return {kept, dropped, first_seq}
"""


class RedisTelemetryStore:
    """The telemetry half of the Redis store; shares the job store's connection pool."""

    def __init__(self, redis: Any, keys: Keys, ttl_seconds: int, max_points: int = MAX_POINTS_PER_JOB) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.max_points = max_points
        self._write = redis.register_script(WRITE)

    def _key(self, job_id: str, part: str) -> str:
        return f"{self.keys.prefix}:tm:{job_id}:{part}"

    @property
    def notices_key(self) -> str:
        return f"{self.keys.prefix}:telemetry"

    @unavailable_on_connection_error
    async def write(self, batch: TelemetryBatch) -> BatchWritten:
        latest: dict[str, float] = {}
        for point in batch.points:
            latest.update(point.values)
        notice = json.dumps(
            {"step": batch.points[-1].step, "values": latest, "points": len(batch.points)} if batch.points else {}
        )
        args: list[Any] = [
            self.max_points,
            MAX_LOG_LINES,
            self.ttl_seconds,
            NOTICES_MAX_LEN,
            batch.job_id,
            notice,
            len(batch.points),
        ]
        args.extend(json.dumps([point.step, point.values], separators=(",", ":")) for point in batch.points)
        args.append(len(batch.logs))
        for line in batch.logs:
            args.extend(line)
        kept, dropped, first_seq = await self._write(
            keys=[
                self._key(batch.job_id, "points"),
                self._key(batch.job_id, "meta"),
                self._key(batch.job_id, "logs"),
                self.notices_key,
                self.keys.stats,
            ],
            args=args,
        )
        return BatchWritten(int(kept), int(dropped), int(first_seq))

    @unavailable_on_connection_error
    async def points(self, job_id: str) -> builtins.list[MetricPoint]:
        raw: list[str] = await self.redis.lrange(self._key(job_id, "points"), 0, -1)
        if not raw:
            return []
        # One parse of the whole list is several times faster than one per point.
        decoded = json.loads("[" + ",".join(raw) + "]")
        return [MetricPoint.model_construct(step=int(step), values=values) for step, values in decoded]

    @unavailable_on_connection_error
    async def point_counts(self, job_id: str) -> tuple[int, int]:
        stored, dropped = await self.redis.hmget(self._key(job_id, "meta"), ["points", "dropped"])
        return int(stored or 0), int(dropped or 0)

    @unavailable_on_connection_error
    async def logs(self, job_id: str, tail: int, since: int = 0) -> tuple[builtins.list[LogLine], int]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.lrange(self._key(job_id, "logs"), -tail, -1)
        pipe.hget(self._key(job_id, "meta"), "log_seq")
        raw, last_seq = await pipe.execute()
        lines = [_log_line(json.loads(item)) for item in raw]
        return [line for line in lines if line.seq > since], int(last_seq or 0)

    @unavailable_on_connection_error
    async def set_preview(self, job_id: str, data: bytes, content_type: str) -> int:
        meta, key = self._key(job_id, "meta"), self._key(job_id, "preview")
        version = int(await self.redis.hincrby(meta, "preview_version", 1))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"data": base64.b64encode(data).decode(), "type": content_type, "version": version})
        pipe.expire(key, self.ttl_seconds)
        pipe.expire(meta, self.ttl_seconds)
        await pipe.execute()
        return version

    @unavailable_on_connection_error
    async def preview(self, job_id: str) -> Preview | None:
        found: dict[str, str] = await self.redis.hgetall(self._key(job_id, "preview"))
        if not found:
            return None
        return Preview(base64.b64decode(found["data"]), found["type"], int(found["version"]))

    @unavailable_on_connection_error
    async def announce(self, kind: TelemetryKind, job_id: str, payload: str) -> None:
        await self.redis.xadd(
            self.notices_key,
            {"k": kind.value, "j": job_id, "p": payload},
            maxlen=NOTICES_MAX_LEN,
            approximate=True,
        )

    @unavailable_on_connection_error
    async def read_notices(self, last_id: str, block_ms: int, count: int = 500) -> builtins.list[TelemetryNotice]:
        reply = await self.redis.xread({self.notices_key: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return [TelemetryNotice(entry_id, TelemetryKind(f["k"]), f["j"], f["p"]) for entry_id, f in entries]

    @unavailable_on_connection_error
    async def latest_notice_id(self) -> str:
        last = await self.redis.xrevrange(self.notices_key, count=1)
        return str(last[0][0]) if last else "0-0"


def _log_line(item: list[Any]) -> LogLine:
    seq, time, level, message = item
    return LogLine(seq=int(seq), time=str(time), level=str(level), message=str(message))
