-- wrk script for bench/history.sh: each wrk thread (one connection each) PATCHes an incident
-- of its own with a new body, as fast as herald answers. Environment: HERALD_KEY (the API
-- key), HERALD_PAGE (the page id), HERALD_IDS (the incident ids, comma separated, one per
-- thread). Answers that are not 2xx/3xx, and socket errors, are counted as non200.
local ids, n = {}, 0
for id in string.gmatch(os.getenv("HERALD_IDS") or "", "[^,]+") do ids[#ids + 1] = id end

function setup(thread)
  n = n + 1
  thread:set("incident", ids[(n - 1) % #ids + 1])
  thread:set("writer", n)
end

local k = 0
function request()
  k = k + 1
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
