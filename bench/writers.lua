-- wrk script for bench/history.sh: each wrk thread (one connection each) PATCHes incidents
-- with a new body, as fast as herald answers. Environment: HERALD_KEY (the API key),
-- HERALD_PAGE (the page id), HERALD_IDS (incident ids, comma separated), HERALD_THREADS
-- (wrk's -t, default 4). Thread n takes ids n, n+T, n+2T, ... in turn: with as many ids as
-- threads each thread writes to one incident (whose timeline grows with every write); with
-- more, the writes are spread over incidents. Answers that are not 2xx/3xx, and socket
-- errors, are counted as non200.
local ids, n = {}, 0
for id in string.gmatch(os.getenv("HERALD_IDS") or "", "[^,]+") do ids[#ids + 1] = id end
local threads = tonumber(os.getenv("HERALD_THREADS") or "4")

function setup(thread)
  n = n + 1
  thread:set("writer", n)
end

local k = 0
function request()
  k = k + 1
  local mine = math.max(1, math.floor(#ids / threads))
  local incident = ids[((writer - 1) + ((k - 1) % mine) * threads) % #ids + 1]
  local body = string.format('{"incident":{"body":"writer %d update %d"}}', writer, k)
  return wrk.format("PATCH", "/v1/pages/" .. os.getenv("HERALD_PAGE") .. "/incidents/" .. incident,
    {["Authorization"] = "OAuth " .. os.getenv("HERALD_KEY"), ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency)
  io.write(string.format("writes=%d secs=%.1f writes_per_s=%.0f p50=%.1fms p99=%.1fms non200=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
