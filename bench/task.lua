-- wrk script for Task Runner. Without arguments: POST /api/v1/tasks with a small task.
-- With a task id after "--": GET /api/v1/tasks/{id}.
local id

function init(args)
    id = args[1]
end

function request()
    if id then
        return wrk.format("GET", "/api/v1/tasks/" .. id)
    end
    return wrk.format("POST", "/api/v1/tasks", {["Content-Type"] = "application/json"},
                      '{"task":"list the files in .","priority":"low"}')
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
    io.write(string.format("latency p50: %.2f ms  p99: %.2f ms  max: %.2f ms\n",
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
    io.write(string.format("non-2xx or socket errors: %d\n",
        errors.status + errors.connect + errors.read + errors.write + errors.timeout))
end
