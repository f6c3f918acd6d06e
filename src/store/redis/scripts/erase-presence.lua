-- Erases everything stored for one user and tells every instance, in one atomic step
-- (DELETE /ping): the user hash (public and invisible views), every client hash (the clients'
-- views and rate-limit buckets) and the client index, then publishes
-- `erased <seq> <time> <ownTime>` on the user's channel: seq is past every ping erased (Redis
-- time in microseconds, as a ping's), so a stream can tell a later ping from an erased one. Every key is in the user's hash slot: the client hashes the index names
-- are reached undeclared, which a cluster allows within the declared keys' slot.
--
-- KEYS[1] user hash, KEYS[2] the caller's client hash, KEYS[3] the user's client index
-- (save-pings.lua keeps it: each client hash's name after the user's).
-- ARGV[1] '1' in a cluster: SPUBLISH, else PUBLISH; ARGV[2] PING_RATE ('0': no limit),
-- ARGV[3] PING_BURST.
--
-- Returns { 'erased', '' }, or { 'limited', seconds to wait } when the caller's rate limit
-- refused it (then nothing is erased). An erasure takes a token like a ping, and the caller's
-- bucket alone survives, spent, until it would be full again: erasing it too would let a client
-- alternate pings and erasures past the limit.
local user, caller, index = KEYS[1], KEYS[2], KEYS[3]
local cluster = ARGV[1] == '1'
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tokens = nil
if rate > 0 then
  local held = redis.call('HMGET', caller, 'tokens', 'refilled')
  local refilled
  tokens, refilled = tonumber(held[1]), tonumber(held[2])
  if tokens == nil or refilled == nil then tokens, refilled = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - refilled) * rate / 1000000)
  if tokens < 1 then return { 'limited', string.format('%d', math.ceil((1 - tokens) / rate)) } end
  tokens = tokens - 1
end

-- The times the streams watching the user are told it went offline at: the public view's last
-- visible ping, and the own view's newest (visible or invisible).
local f = redis.call('HMGET', user, 'time', 'seq', 'invisible:time', 'invisible:seq')
local time, ownTime = f[1] or '', f[1] or ''
if f[3] and (not f[2] or tonumber(f[4]) > tonumber(f[2])) then ownTime = f[3] end

for _, suffix in ipairs(redis.call('ZRANGE', index, 0, -1)) do redis.call('DEL', user .. suffix) end
redis.call('DEL', user, index, caller)

if tokens ~= nil and tokens < burst then
  redis.call('HSET', caller, 'tokens', tostring(tokens), 'refilled', string.format('%d', now))
  redis.call('PEXPIRE', caller, math.ceil((burst - tokens) * 1000 / rate))
end

local message = 'erased ' .. string.format('%d', now) .. ' ' .. time .. ' ' .. ownTime
if cluster then redis.call('SPUBLISH', user, message) else redis.call('PUBLISH', user, message) end
return { 'erased', '' }
