-- Stores the last ping of a user and of its client, then publishes it: one atomic round trip,
-- so a subscriber can never read a stored ping that was not (or will not be) published.
--
-- KEYS[1] user hash, KEYS[2] client hash, KEYS[3] (optional) global sequence key
-- ARGV[1] status, ARGV[2] clientid, ARGV[3] JSON [clientid, status] for the message,
-- ARGV[4] '1' to publish with SPUBLISH (sharded pub/sub in a cluster), else PUBLISH
-- ARGV[5] PING_RATE (pings per second, '0': no limit), ARGV[6] PING_BURST,
-- ARGV[7] CLIENT_KEY_TTL (seconds, '0': never), ARGV[8] '1' for an invisible ping (INVISIBLE_STATUSES)
--
-- Returns { seq, time }, or { 'limited', seconds to wait } when the rate limit refused the ping.
--
-- An invisible ping goes to the `invisible:` fields and the user's own channel (KEYS[1]..':own',
-- same hash slot) only: the public fields and channel keep the last visible ping.
local invisible = ARGV[8] == '1'
local field = invisible and 'invisible:' or ''
local channel = invisible and (KEYS[1] .. ':own') or KEYS[1]

-- The sequence is Redis server time in microseconds, bumped past the previous value: it is
-- strictly increasing and survives a Redis that lost its data (time still moves forward).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- Rate limit: a token bucket per user+client, kept in the client hash (`tokens`, `refilled`), so
-- it holds across every instance and costs no key of its own. A refused ping changes nothing.
local rate, burst = tonumber(ARGV[5]), tonumber(ARGV[6])
if rate > 0 then
  local bucket = redis.call('HMGET', KEYS[2], 'tokens', 'refilled')
  local tokens, refilled = tonumber(bucket[1]), tonumber(bucket[2])
  if tokens == nil or refilled == nil then tokens, refilled = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - refilled) * rate / 1000000)
  if tokens < 1 then return { 'limited', string.format('%d', math.ceil((1 - tokens) / rate)) } end
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'refilled', string.format('%d', now))
end

local prev
if KEYS[3] then
  prev = tonumber(redis.call('GET', KEYS[3]) or '0')
else
  local seqs = redis.call('HMGET', KEYS[1], 'seq', 'invisible:seq')
  prev = math.max(tonumber(seqs[1] or '0'), tonumber(seqs[2] or '0'))
end
local seq = now
if seq <= prev then seq = prev + 1 end
local seqText = string.format('%d', seq)
if KEYS[3] then redis.call('SET', KEYS[3], seqText) end
local time = t[1]
redis.call('HSET', KEYS[1], field .. 'time', time, field .. 'status', ARGV[1], field .. 'clientid', ARGV[2], field .. 'seq', seqText)
redis.call('HSET', KEYS[2], field .. 'time', time, field .. 'status', ARGV[1], field .. 'clientid', ARGV[2], field .. 'seq', seqText)
local message = seqText .. ' ' .. time .. ' ' .. ARGV[3]
if ARGV[4] == '1' then
  redis.call('SPUBLISH', channel, message)
else
  redis.call('PUBLISH', channel, message)
end

-- Per-client keys expire after CLIENT_KEY_TTL seconds without a ping; the user's key stays
-- (last seen is shown for old contacts too).
local ttl = tonumber(ARGV[7])
if ttl > 0 then redis.call('EXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
return { seqText, time }
