-- wrk script for the benchmark: POST one JSON body with an API key, print the results as JSON.
--   wrk -s bench/wrk_post.lua URL -- BODY_FILE API_KEY
--
-- Besides wrk's own totals it counts responses per wall-clock second, so the steady-state rate
-- can leave out the start, when no request has finished yet, and the end, when wrk abandons the
-- requests in flight. With slow requests and many connections both would bias requests/duration.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  completed_per_second = {}
end

function response(status, headers, body)
  local second = os.time()
  completed_per_second[second] = (completed_per_second[second] or 0) + 1
end

-- Return the rate over the whole seconds strictly between the first and the last second in
-- which a response arrived, and how many seconds that is (0 when there are too few).
local function steady_rate()
  local merged = {}
  local first, last
  for _, thread in ipairs(threads) do
    for second, count in pairs(thread:get("completed_per_second")) do
      merged[second] = (merged[second] or 0) + count
      if first == nil or second < first then first = second end
      if last == nil or second > last then last = second end
    end
  end
  if first == nil or last - first < 2 then
    return 0, 0
  end
  local total = 0
  for second = first + 1, last - 1 do
    total = total + (merged[second] or 0)
  end
  return total / (last - first - 1), last - first - 1
end

function done(summary, latency, requests)
  local errors = summary.errors
  local rate, seconds = steady_rate()
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"steady_requests_per_second": %.3f, "steady_seconds": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "mean": %.1f, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, rate, seconds,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
