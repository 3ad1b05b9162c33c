// Reading the counters of metric_counters (migration 0003) and the gauges the database can tell:
// what GET /metrics and GET /api/v1/metrics show, the same numbers from any handler process.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <string>
#include <vector>

namespace tr {

struct MetricRow {
    std::string name;
    std::string labels; // Prometheus text, without braces: method="GET",route="/health"
    double value = 0;
};

std::vector<MetricRow> read_metric_counters(Db &db);

struct ServiceGauges {
    long long queued = 0;
    long long running = 0;
    int runners_alive = 0;
    double runner_cpu_percent = 0; // summed over alive runners
    double runner_memory_mb = 0;
};

ServiceGauges read_service_gauges(Db &db, TimePoint now);

} // namespace tr
