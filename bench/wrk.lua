-- wrk script for bench/run.py: the request to send, and a JSON summary at the end.
-- BENCH_METHOD / BENCH_BODY / BENCH_CONTENT_TYPE pick the request (default GET);
-- BENCH_DELAY_MS makes each connection wait a random 0 to 2x that long before each
-- request (that long on average), like dashboards that refresh on their own clocks.
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local content_type = os.getenv("BENCH_CONTENT_TYPE")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

wrk.method = method
if body then wrk.body = body end
if content_type then wrk.headers["Content-Type"] = content_type end

if pause > 0 then
  function init(args)
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  end

  function delay()
    return math.random(0, 2 * pause)
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
