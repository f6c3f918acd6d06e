-- Reads the same fields of many hashes in one call: the stored pings of up to 1,000 users (the
-- replays of new streams, the re-read after an outage; src/streams/record-reads.ts) for one
-- round trip and one reply instead of one HMGET, one promise and one reply each. Reads only.
--
-- KEYS: the hashes (a user's, or one client's of a user)
-- ARGV: the fields to read of each
--
-- Returns one array per key, in order: the fields' values, nil where a field is missing.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, unpack(ARGV))
end
return out
