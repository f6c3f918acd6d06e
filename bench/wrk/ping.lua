-- POST /ping load for the bench's `ping` scenario (wrk 4, Debian package `wrk`).
-- Arguments after `--`: <tag> <users per thread> [api]. api "nchan": POST /pub/<user> (nchan's
-- publish, same body, success 201 or 202) instead of POST /ping with the claim header.
-- Thread t sends pings of users "<tag>-<t>-<k mod users>" with status "a:<t>:<k>", k = 0, 1, 2, …
-- Run with one connection per thread (-t = -c), a thread's requests are strictly one after
-- another, so every request but the thread's last was answered before the next was sent: the
-- bench can tell exactly which status each user must have stored. done() prints one line
-- "WRK_JSON {…}" with the totals, the latency percentiles and every thread's counters.
local threads = {}
local nextId = 0

function setup(thread)
  thread:set("id", nextId)
  nextId = nextId + 1
  table.insert(threads, thread)
end

-- Globals, so that done() can read them with thread:get().
function init(args)
  tag = args[1]
  users = tonumber(args[2])
  nchan = args[3] == "nchan"
  counter = 0
  answered = 0
  non200 = 0
end

function request()
  local k = counter
  counter = counter + 1
  local user = tag .. "-" .. id .. "-" .. (k % users)
  local body = '{"status":"a:' .. id .. ':' .. k .. '"}'
  if nchan then
    return wrk.format("POST", "/pub/" .. user, { ["Content-Type"] = "text/plain" }, body)
  end
  return wrk.format("POST", "/ping", {
    ["Content-Type"] = "text/plain",
    ["X-User-Claim"] = '{"userid":"' .. user .. '","clientid":"c1"}',
  }, body)
end

function response(status)
  answered = answered + 1
  local ok = status == 200 or (nchan and (status == 201 or status == 202))
  if not ok then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    table.insert(parts, string.format("[%d,%d,%d,%d]", t:get("id"), t:get("counter"), t:get("answered"), t:get("non200")))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50Us":%d,"p99Us":%d,"maxUs":%d,"threads":[%s]}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ",")))
end
