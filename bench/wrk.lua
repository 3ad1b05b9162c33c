-- wrk script for bench/run: POSTs BENCH_BODY (when set) as JSON, else the URL's GET; the
-- Authorization header comes from wrk's -H. At the end one line "BENCH {json}" that
-- bench/harness/wrk.py reads: requests/s, p50, p99 (ms), non-2xx answers and socket errors.
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH {"rps": %.1f, "p50": %.3f, "p99": %.3f, "requests": %d, "non2xx": %d, "socket_errors": %d}\n',
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, summary.requests, e.status,
        e.connect + e.read + e.write + e.timeout))
end
