// metric_counters and gauges.
#include "core/metric_store.h"

#include "core/runners.h"

namespace tr {

std::vector<MetricRow> read_metric_counters(Db &db) {
    Query select =
        db.query("SELECT name, labels, value FROM metric_counters ORDER BY name, labels");
    std::vector<MetricRow> rows;
    while (select->executeStep())
        rows.push_back({select->getColumn(0).getString(), select->getColumn(1).getString(),
                        select->getColumn(2).getDouble()});
    return rows;
}

ServiceGauges read_service_gauges(Db &db, TimePoint now) {
    ServiceGauges gauges;
    {
        // Both counts walk partial indexes (tasks_queue, tasks_leases): as long as the queue,
        // not as long as the table.
        Query queued = db.query("SELECT count(*) FROM tasks WHERE status = 'queued'");
        queued->executeStep();
        gauges.queued = queued->getColumn(0).getInt64();
    }
    {
        Query running = db.query(
            "SELECT count(*) FROM tasks WHERE status = 'running' AND lease_expires_at IS NOT NULL");
        running->executeStep();
        gauges.running = running->getColumn(0).getInt64();
    }
    Query runners =
        db.query("SELECT count(*), coalesce(sum(cpu_percent), 0), coalesce(sum(memory_mb), 0) "
                 "FROM runners WHERE stopped_at IS NULL AND heartbeat_at >= ?");
    runners->bind(1, format_utc(now - runner_alive_window));
    runners->executeStep();
    gauges.runners_alive = runners->getColumn(0).getInt();
    gauges.runner_cpu_percent = runners->getColumn(1).getDouble();
    gauges.runner_memory_mb = runners->getColumn(2).getDouble();
    return gauges;
}

} // namespace tr
