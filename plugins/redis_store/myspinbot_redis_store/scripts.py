"""Lua scripts: each job change is one atomic script (record + indexes + stats + event).

Only commands that Redis 6.2 and 7 both have are used.
"""

# KEYS: job, all, by_state(queued), by_type, stats, events, sequence, idempotency ("" = none),
#       by_owner, active_of(owner)
# ARGV: id, state, type, job json, event name, maxlen, idempotency ttl, owner
# Returns {1, event id, seq} when created, {0, first response json} for a used idempotency key.
_CREATE_RECORD = """
if KEYS[8] ~= '' then
  local first = redis.call('GET', KEYS[8])
  if first then return {0, first} end
end
local seq = redis.call('INCR', KEYS[7])
redis.call('HSET', KEYS[1], 'version', 0, 'state', ARGV[2], 'type', ARGV[3], 'seq', seq, 'json', ARGV[4],
  'owner', ARGV[8])
redis.call('ZADD', KEYS[9], seq, ARGV[1])
redis.call('SADD', KEYS[10], ARGV[1])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[3], seq, ARGV[1])
redis.call('ZADD', KEYS[4], seq, ARGV[1])
redis.call('HINCRBY', KEYS[5], 'submitted|' .. ARGV[3], 1)
if KEYS[8] ~= '' then
  redis.call('SET', KEYS[8], ARGV[4], 'EX', tonumber(ARGV[7]))
end
local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'n', ARGV[5], 'j', ARGV[4])
"""
CREATE = _CREATE_RECORD + "return {1, id, seq}\n"

# CREATE, then the job's broker message in the same step (RedisJobStore.create_queued): the
# publisher's PUBLISH script (myspinbot.worker.wire) on the same keys.
# KEYS: CREATE's, then paused queues set, live list, held list; ARGV: CREATE's, then queue, message.
CREATE_QUEUED = (
    _CREATE_RECORD
    + """
if redis.call('SISMEMBER', KEYS[11], ARGV[9]) == 1 then
  redis.call('LPUSH', KEYS[13], ARGV[10])
else
  redis.call('LPUSH', KEYS[12], ARGV[10])
end
return {1, id, seq}
"""
)

# KEYS: job, all, by_type, stats, idempotency ("" = none); ARGV: id, type, state prefix, owner prefix,
#       active-of-owner prefix
DISCARD = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  redis.call('ZREM', ARGV[4] .. owner, ARGV[1])
  redis.call('SREM', ARGV[5] .. owner, ARGV[1])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', ARGV[3] .. state, ARGV[1])
redis.call('HINCRBY', KEYS[4], 'submitted|' .. ARGV[2], -1)
if KEYS[5] ~= '' then redis.call('DEL', KEYS[5]) end
return 1
"""

# KEYS: job, events, stats, cancel, recent durations of the type, its batch's pending set and its
#       batch record ("" = none)
# ARGV: expected version, new version, new state, job json, event name, maxlen,
#       ttl seconds (0 = keep), state key prefix, id, type, finished ("1"/"0"),
#       duration bucket field ("" = none), duration seconds, recent durations kept,
#       active-of-owner prefix
# Returns {1, event id, cancel flag, batch finished} | {0, current version} on conflict | {-1} when missing.
SAVE = """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return {-1} end
if tonumber(current) ~= tonumber(ARGV[1]) then return {0, current} end
local old = redis.call('HGET', KEYS[1], 'state')
local seq = redis.call('HGET', KEYS[1], 'seq')
local new = ARGV[3]
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', new, 'json', ARGV[4])
if old ~= new then
  redis.call('ZREM', ARGV[8] .. old, ARGV[9])
  redis.call('ZADD', ARGV[8] .. new, seq, ARGV[9])
  if new == 'running' then redis.call('HINCRBY', KEYS[3], 'running|' .. ARGV[10], 1) end
  if old == 'running' then redis.call('HINCRBY', KEYS[3], 'running|' .. ARGV[10], -1) end
  if ARGV[11] == '1' then
    local owner = redis.call('HGET', KEYS[1], 'owner')
    if owner then redis.call('SREM', ARGV[15] .. owner, ARGV[9]) end
    redis.call('HINCRBY', KEYS[3], 'finished|' .. ARGV[10] .. '|' .. new, 1)
    if ARGV[12] ~= '' then
      redis.call('HINCRBY', KEYS[3], ARGV[12], 1)
      redis.call('HINCRBYFLOAT', KEYS[3], 'dur_sum|' .. ARGV[10], ARGV[13])
      redis.call('HINCRBY', KEYS[3], 'dur_count|' .. ARGV[10], 1)
      redis.call('LPUSH', KEYS[5], ARGV[13])
      redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[14]) - 1)
    end
  end
end
if tonumber(ARGV[7]) > 0 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'n', ARGV[5], 'j', ARGV[4])
local batch_done = 0
if ARGV[11] == '1' and KEYS[6] ~= '' then
  -- exactly one save sees its batch's last job leave the pending set
  if redis.call('SREM', KEYS[6], ARGV[9]) == 1 and redis.call('SCARD', KEYS[6]) == 0 then
    batch_done = 1
    redis.call('EXPIRE', KEYS[7], tonumber(ARGV[7]))  -- a finished batch is kept as long as its jobs
  end
end
return {1, id, redis.call('EXISTS', KEYS[4]), batch_done}
"""

# KEYS: lease; ARGV: holder, ttl ms. Returns 1 when `holder` has the lease afterwards.
LEASE = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
"""

# KEYS: batch, its pending set; ARGV: batch json, job ids... The record lives until its last job
# finishes (SAVE then gives it the finished jobs' time to live).
CREATE_BATCH = """
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
"""
