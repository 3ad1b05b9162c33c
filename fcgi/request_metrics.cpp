// Request counters and the request-duration histogram.
#include "fcgi/request_metrics.h"

#include <SQLiteCpp/Transaction.h>

#include <cstdio>

namespace tr::fcgi {
namespace {

// Prometheus's default buckets: they suit an API whose answers take milliseconds.
constexpr double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string label_value(const std::string &value) {
    std::string out;
    for (const char c : value) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string bound_text(double bound) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", bound);
    return text;
}

} // namespace

void RequestMetrics::record(const std::string &method, const std::string &route, int status,
                            double seconds) {
    const std::string labels =
        "method=\"" + label_value(method) + "\",route=\"" + label_value(route) + "\"";
    std::lock_guard<std::mutex> guard(mutex_);
    deltas_[{"ai_agent_requests_total", labels + ",status=\"" + std::to_string(status) + "\""}] +=
        1;
    // Every bucket, even when this request adds nothing to it: a label set's histogram is
    // complete from its first request on.
    for (const double bound : bucket_bounds)
        deltas_[{"ai_agent_request_duration_seconds_bucket",
                 labels + ",le=\"" + bound_text(bound) + "\""}] += seconds <= bound ? 1 : 0;
    deltas_[{"ai_agent_request_duration_seconds_bucket", labels + ",le=\"+Inf\""}] += 1;
    deltas_[{"ai_agent_request_duration_seconds_sum", labels}] += seconds;
    deltas_[{"ai_agent_request_duration_seconds_count", labels}] += 1;
}

void RequestMetrics::flush(Db &db) {
    std::map<std::pair<std::string, std::string>, double> pending;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        pending.swap(deltas_);
    }
    if (pending.empty())
        return;
    try {
        SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
        for (const auto &[key, delta] : pending) {
            Query add =
                db.query("INSERT INTO metric_counters (name, labels, value) VALUES (?, ?, ?) "
                         "ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value");
            add->bind(1, key.first);
            add->bind(2, key.second);
            add->bind(3, delta);
            add->exec();
        }
        transaction.commit();
    } catch (...) {
        // Busy or failing: put the counts back for the next flush; counters must not lose counts.
        std::lock_guard<std::mutex> guard(mutex_);
        for (const auto &[key, delta] : pending)
            deltas_[key] += delta;
        throw;
    }
}

} // namespace tr::fcgi
