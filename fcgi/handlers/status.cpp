// GET /api/v1/status: what the service is doing: version, uptime, the queue and task counts,
// the runners with their heartbeats, the model tasks run with now, including whether its
// provider is rate limited, and how often the launcher restarted each component.
#include "fcgi/handlers/routes.h"

#include "core/component_restarts.h"
#include "core/config_store.h"
#include "core/metric_store.h"
#include "core/model.h"
#include "core/provider_backoff.h"
#include "core/runners.h"

namespace tr::fcgi {
namespace {

json_t *model_status(HandlerContext &context, TimePoint now) {
    JsonPtr described;
    try {
        const ModelConfig model = live_config(context.config, context.db).model;
        described = describe_model(model);
        const ResolvedModel resolved = resolve_model(model);
        json_object_set_new(described.get(), "resolved",
                            json_pack("{s:s,s:s,s:s}", "provider", resolved.provider.c_str(),
                                      "model", resolved.model.c_str(), "endpoint",
                                      resolved.endpoint.c_str()));
        json_t *limited = json_null();
        for (const ProviderBackoff &backoff : active_provider_backoffs(context.db, now))
            if (backoff.endpoint == resolved.endpoint)
                limited = json_string(backoff.until.c_str());
        json_object_set_new(described.get(), "rate_limited_until", limited);
    } catch (const Error &e) { // a model that cannot be used is reported, not an error
        if (!described)        // a stored setting is no longer valid: the configured model, and why
            described = describe_model(context.config.model);
        json_object_set_new(described.get(), "problem", json_text(e.what()));
    }
    return described.release();
}

json_t *task_counts(HandlerContext &context, const ServiceGauges &gauges) {
    JsonPtr counts(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "queued",
                             static_cast<json_int_t>(gauges.queued), "running",
                             static_cast<json_int_t>(gauges.running), "completed", 0, "failed", 0,
                             "cancelled", 0, "timeout", 0));
    for (const MetricRow &row : read_metric_counters(context.db)) {
        if (row.name != "ai_agent_tasks_finished_total")
            continue;
        const std::string status = row.labels.substr(8, row.labels.size() - 9); // status="x"
        json_object_set_new(counts.get(), status.c_str(),
                            json_integer(static_cast<json_int_t>(row.value)));
    }
    return counts.release();
}

json_t *runner_list(HandlerContext &context, TimePoint now) {
    Query select = context.db.query(
        "SELECT id, hostname, pid, version, sandbox, active_tasks, max_concurrent_tasks, "
        "started_at, heartbeat_at, sandbox_user, cgroups, network "
        "FROM runners WHERE stopped_at IS NULL AND heartbeat_at >= ? ORDER BY started_at");
    select->bind(1, format_utc(now - runner_alive_window));
    JsonPtr runners(json_array());
    while (select->executeStep())
        json_array_append_new(runners.get(),
                              json_pack("{s:s,s:s,s:I,s:s,s:o,s:i,s:i,s:s,s:s,s:o,s:o,s:o}", "id",
                                        select->getColumn(0).getString().c_str(), "hostname",
                                        select->getColumn(1).getString().c_str(), "pid",
                                        static_cast<json_int_t>(select->getColumn(2).getInt64()),
                                        "version", select->getColumn(3).getString().c_str(),
                                        "sandbox", text_or_null(select->getColumn(4)),
                                        "active_tasks", select->getColumn(5).getInt(),
                                        "max_concurrent_tasks", select->getColumn(6).getInt(),
                                        "started_at", select->getColumn(7).getString().c_str(),
                                        "heartbeat_at", select->getColumn(8).getString().c_str(),
                                        "sandbox_user", text_or_null(select->getColumn(9)),
                                        "cgroups", text_or_null(select->getColumn(10)), "network",
                                        text_or_null(select->getColumn(11))));
    return runners.release();
}

// {"runner": {"restarts", "last_exit", "last_restart_at"}, "fcgi": ..., "nginx": ...}
json_t *component_restarts(HandlerContext &context) {
    JsonPtr components(json_object());
    for (const ComponentRestarts &row : read_component_restarts(context.db))
        json_object_set_new(
            components.get(), row.component.c_str(),
            json_pack("{s:I,s:o,s:o}", "restarts", static_cast<json_int_t>(row.restarts),
                      "last_exit", row.last_exit ? json_text(*row.last_exit) : json_null(),
                      "last_restart_at",
                      row.last_restart_at ? json_text(*row.last_restart_at) : json_null()));
    return components.release();
}

HttpResponse get_status(HandlerContext &context, const Call &) {
    const TimePoint now = Clock::now();
    const ReadSnapshot snapshot(context.db);
    const ServiceGauges gauges = read_service_gauges(context.db, now);
    JsonPtr backoffs(json_array());
    for (const ProviderBackoff &backoff : active_provider_backoffs(context.db, now))
        json_array_append_new(backoffs.get(),
                              json_pack("{s:s,s:s,s:s,s:I,s:o}", "endpoint",
                                        backoff.endpoint.c_str(), "provider",
                                        backoff.provider.c_str(), "until", backoff.until.c_str(),
                                        "status", static_cast<json_int_t>(backoff.status), "reason",
                                        json_text(backoff.reason)));
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - context.process.started);
    const RunnerSummary runners = summarize_runners(context.db, now);
    JsonPtr body(json_pack(
        "{s:s,s:I,s:I,s:o,s:{s:i,s:o,s:o},s:o,s:O,s:o,s:o}", "version", TR_VERSION,
        "uptime_seconds", static_cast<json_int_t>(uptime.count()), "queue_depth",
        static_cast<json_int_t>(gauges.queued), "tasks", task_counts(context, gauges), "runners",
        "alive", runners.alive, "last_heartbeat",
        runners.last_heartbeat ? json_string(runners.last_heartbeat->c_str()) : json_null(), "list",
        runner_list(context, now), "model", model_status(context, now), "rate_limited_providers",
        backoffs.get(), "sandbox",
        runners.sandbox.empty() ? json_null() : json_text(runners.sandbox), "components",
        component_restarts(context)));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> status_routes() {
    return {{Method::Get, "/api/v1/status", Scope::Read, get_status}};
}

} // namespace tr::fcgi
