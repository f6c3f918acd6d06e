-- Stores the last ping of a user and of its client, then publishes it, for each ping of a batch:
-- one atomic round trip, so a stream can never read a stored ping that was not (or will not
-- be) published. A standalone server gets every ping of one event-loop turn in one call; a
-- cluster one ping per call (a script's keys must share a slot).
--
-- ARGV[1] '1' in a cluster: SPUBLISH (sharded pub/sub) and a sequence per user; else PUBLISH and
--         the global sequence key in KEYS[1]
-- ARGV[2] PING_RATE (pings per second, '0': no limit), ARGV[3] PING_BURST,
-- ARGV[4] CLIENT_KEY_TTL (seconds, '0': never)
-- Then per ping, in order: three KEYS (user hash, client hash, the user's client index) and five
-- ARGV (status, clientid, JSON [clientid, status] for the message, '1' for an invisible ping
-- (INVISIBLE_STATUSES), the time heartbeat received it in Unix milliseconds).
--
-- Returns two values per ping: { seq, time }, or { 'limited', seconds to wait } when the rate
-- limit refused the ping, or { 'overtaken', the newer ping's received time } when the user's
-- newest stored ping was received after this one (then nothing of it is stored or published).
--
-- Why refuse an overtaken ping: heartbeat answers 503 once a ping's deadline passes, but the Redis
-- client may still send it later (ioredis retries a command through a cluster failover, and
-- re-sends unanswered commands after a reconnect), after a newer ping of the same user. Ordered
-- by Redis alone it would replace the newer ping and reach streams after it. The user hash keeps
-- the received time of its newest ping (`received`, or `invisible:received` for an invisible
-- one; a ping is compared with the newer of the two, as its seq is), and an older one changes
-- nothing: no token taken, nothing stored, nothing published.
--
-- An invisible ping goes to the `invisible:` fields and the user's own channel (user hash ..
-- ':own', same hash slot) only: the public fields and channel keep the last visible ping.
local cluster = ARGV[1] == '1'
local rate, burst, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local firstKey = cluster and 0 or 1
local count = (#ARGV - 4) / 5

-- The sequence is Redis server time in microseconds, bumped past the previous value: it is
-- strictly increasing and survives a Redis that lost its data (time still moves forward).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local time = t[1]
local lastSeq = nil
if not cluster then lastSeq = tonumber(redis.call('GET', KEYS[1]) or '0') end
local stored = false

local results = {}
for i = 0, count - 1 do
  local user, client, index = KEYS[firstKey + 3 * i + 1], KEYS[firstKey + 3 * i + 2], KEYS[firstKey + 3 * i + 3]
  local status, clientid, tail = ARGV[5 + 5 * i], ARGV[6 + 5 * i], ARGV[7 + 5 * i]
  local invisible = ARGV[8 + 5 * i] == '1'
  local receivedText = ARGV[9 + 5 * i]
  local field = invisible and 'invisible:' or ''
  local refused, wait = nil, nil

  -- Overtaken: the user's newest stored ping (either view) was received after this one. Checked
  -- first, so a refused ping takes no rate-limit token. A hash written before `received` existed
  -- has none, and any ping passes.
  local held = redis.call('HMGET', user, 'received', 'invisible:received', 'seq', 'invisible:seq')
  local newest = math.max(tonumber(held[1] or '0'), tonumber(held[2] or '0'))
  if tonumber(receivedText) < newest then
    refused, wait = 'overtaken', string.format('%d', newest)
  elseif rate > 0 then
    -- Rate limit: a token bucket per user+client, kept in the client hash (`tokens`, `refilled`),
    -- so it holds across every instance and costs no key of its own.
    local bucket = redis.call('HMGET', client, 'tokens', 'refilled')
    local tokens, refilled = tonumber(bucket[1]), tonumber(bucket[2])
    if tokens == nil or refilled == nil then tokens, refilled = burst, now end
    tokens = math.min(burst, tokens + math.max(0, now - refilled) * rate / 1000000)
    if tokens < 1 then
      refused, wait = 'limited', string.format('%d', math.ceil((1 - tokens) / rate))
    else
      redis.call('HSET', client, 'tokens', tostring(tokens - 1), 'refilled', string.format('%d', now))
    end
  end

  if refused then
    results[#results + 1] = refused
    results[#results + 1] = wait
  else
    local prev = lastSeq
    if cluster then prev = math.max(tonumber(held[3] or '0'), tonumber(held[4] or '0')) end
    local seq = now
    if seq <= prev then seq = prev + 1 end
    lastSeq, stored = seq, true
    local seqText = string.format('%d', seq)
    redis.call('HSET', user, field .. 'time', time, field .. 'status', status, field .. 'clientid', clientid, field .. 'seq', seqText,
      field .. 'received', receivedText)
    redis.call('HSET', client, field .. 'time', time, field .. 'status', status, field .. 'clientid', clientid, field .. 'seq', seqText)
    local channel = invisible and (user .. ':own') or user
    local message = seqText .. ' ' .. time .. ' ' .. tail
    if cluster then redis.call('SPUBLISH', channel, message) else redis.call('PUBLISH', channel, message) end
    -- Per-client keys expire after CLIENT_KEY_TTL seconds without a ping; the user's key stays
    -- (last seen is shown for old contacts too).
    if ttl > 0 then redis.call('EXPIRE', client, ttl) else redis.call('PERSIST', client) end
    -- The client index (erase-presence.lua): each client hash's name after the user's, scored by
    -- its last ping. Trimmed of the clients whose hash has expired when a client joins it (only a
    -- new member grows it, and a user's usual ping from a known client is spared the trim's cost).
    local joined = redis.call('ZADD', index, now, string.sub(client, #user + 1))
    if ttl > 0 then
      if joined == 1 then redis.call('ZREMRANGEBYSCORE', index, '-inf', string.format('%d', now - ttl * 1000000)) end
      redis.call('EXPIRE', index, ttl)
    end
    results[#results + 1] = seqText
    results[#results + 1] = time
  end
end

if not cluster and stored then redis.call('SET', KEYS[1], string.format('%d', lastSeq)) end
return results
