// What every handler receives: its thread's database connection, the configuration, the log,
// the state its process shares between threads, the request, the caller (its API key's
// principal), the values of the route's {name} segments, and a way to stream.
#pragma once

#include "core/api_keys.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/wake_channel.h"
#include "core/write_probe.h"
#include "fcgi/http.h"
#include "fcgi/request_metrics.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace tr::fcgi {

// Shared by the threads of one handler process.
class GroupCommit;

struct ProcessState {
    explicit ProcessState(const std::atomic<bool> &stopping_flag) : stopping(stopping_flag) {}

    // One writer at a time within the process: threads queue here, woken at once, instead of
    // polling in the busy handler (core/db.cpp) against each other.
    std::mutex write_gate;
    std::atomic<int> waiting{0};       // requests holding a thread in ?wait or an event stream
    const std::atomic<bool> &stopping; // SIGTERM: waits and streams end early
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    RequestMetrics metrics;
    std::atomic<double> cpu_percent{0}; // this process, sampled about once a second
    std::atomic<double> memory_mb{0};
    GroupCommit *submissions = nullptr; // set by main; without it, submissions commit one by one
    RunnerWaker *runners = nullptr;     // set by main: told of each task queued outside
                                    // `submissions` (which has its own); without it, runners poll
    WriteProbe write_probe; // GET /health: can the database be written (once a second)
};

struct HandlerContext {
    const Config &config;
    const Log &log;
    Db &db; // this thread's own connection
    ProcessState &process;
};

// Writes part of a streamed response (CGI headers first) and pushes it to the client at once;
// false when the client has gone.
using StreamWriter = std::function<bool(std::string_view bytes)>;

struct Call {
    const HttpRequest &request;
    std::map<std::string, std::string> path; // {id} -> "42"
    Principal principal;
    const StreamWriter &stream;

    const std::string &path_param(const std::string &name) const { return path.at(name); }
};

using Handler = HttpResponse (*)(HandlerContext &context, const Call &call);

} // namespace tr::fcgi
