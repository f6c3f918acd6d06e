-- Stores the last ping of a user and of its client, then publishes it: one atomic round trip,
-- so a subscriber can never read a stored ping that was not (or will not be) published.
--
-- KEYS[1] user hash, KEYS[2] client hash, KEYS[3] (optional) global sequence key
-- ARGV[1] status, ARGV[2] clientid, ARGV[3] JSON [clientid, status] for the message,
-- ARGV[4] '1' to publish with SPUBLISH (sharded pub/sub in a cluster), else PUBLISH
--
-- The sequence is Redis server time in microseconds, bumped past the previous value: it is
-- strictly increasing and survives a Redis that lost its data (time still moves forward).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local seqKey = KEYS[3] or KEYS[1]
local prev
if KEYS[3] then
  prev = tonumber(redis.call('GET', KEYS[3]) or '0')
else
  prev = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
end
local seq = now
if seq <= prev then seq = prev + 1 end
local seqText = string.format('%d', seq)
if KEYS[3] then redis.call('SET', KEYS[3], seqText) end
local time = t[1]
redis.call('HSET', KEYS[1], 'time', time, 'status', ARGV[1], 'clientid', ARGV[2], 'seq', seqText)
redis.call('HSET', KEYS[2], 'time', time, 'status', ARGV[1], 'clientid', ARGV[2], 'seq', seqText)
local message = seqText .. ' ' .. time .. ' ' .. ARGV[3]
if ARGV[4] == '1' then
  redis.call('SPUBLISH', KEYS[1], message)
else
  redis.call('PUBLISH', KEYS[1], message)
end
return { seqText, time }
