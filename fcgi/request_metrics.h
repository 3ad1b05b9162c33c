// Request counts and durations of one handler process, kept in memory and added to SQLite's
// metric_counters about once a second, so the counters are the sum over every handler process
// and survive restarts, without a write per request.
#pragma once

#include "core/db.h"

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace tr::fcgi {

class RequestMetrics {
public:
    // `route` is the matched pattern ("/api/v1/tasks/{id}"), never the raw path, so the number
    // of label combinations stays small.
    void record(const std::string &method, const std::string &route, int status, double seconds);

    // Adds what was recorded since the last flush to the database; keeps it when the write fails.
    void flush(Db &db);

private:
    std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, double> deltas_; // (name, labels) -> increment
};

} // namespace tr::fcgi
