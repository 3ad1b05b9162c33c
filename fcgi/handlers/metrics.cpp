// GET /metrics (Prometheus text format 0.0.4) and GET /api/v1/metrics (the same, as JSON).
// Counters come from metric_counters, which every handler process and runner adds to and which
// survives restarts, so they never go backwards; gauges are read from the tasks and runners now.
// The original's names are kept (ai_agent_*); CPU and memory are this handler process plus every
// live runner.
#include "fcgi/handlers/routes.h"

#include "core/metric_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace tr::fcgi {
namespace {

struct Family {
    const char *name;
    const char *type; // counter | gauge | histogram
    const char *help;
};

constexpr Family families[] = {
    {"ai_agent_requests_total", "counter", "API requests answered, by method, route and status."},
    {"ai_agent_request_duration_seconds", "histogram",
     "Time to answer an API request, by method and route."},
    {"ai_agent_tasks_total", "counter", "Tasks submitted."},
    {"ai_agent_tasks_completed_total", "counter", "Tasks that completed."},
    {"ai_agent_tasks_failed_total", "counter", "Tasks that failed or timed out."},
    {"ai_agent_tasks_finished_total", "counter", "Tasks that ended, by final status."},
    {"ai_agent_task_duration_seconds", "histogram",
     "Wall-clock time of finished tasks, from start to end."},
    {"ai_agent_llm_calls_total", "counter", "Model calls that were answered."},
    {"ai_agent_llm_tokens_total", "counter",
     "Model tokens used by ended tasks, by direction (input, output) and provider."},
    {"ai_agent_tool_calls_total", "counter",
     "Tool calls, by tool and outcome (completed, failed, interrupted)."},
    {"ai_agent_fenced_writes_total", "counter",
     "Writes refused because their attempt had lost its task's lease."},
    {"ai_agent_lease_recoveries_total", "counter",
     "Tasks taken back from a runner whose lease had lapsed."},
    {"ai_agent_active_tasks", "gauge", "Tasks running now."},
    {"ai_agent_queue_depth", "gauge", "Tasks waiting to run."},
    {"ai_agent_runners_alive", "gauge", "Runner processes with a recent heartbeat."},
    {"ai_agent_cpu_usage_percent", "gauge",
     "CPU used by the live runners and this handler process, in percent of one core."},
    {"ai_agent_memory_usage_bytes", "gauge",
     "Resident memory of the live runners and this handler process."},
    // The original's name, which its dashboards read; promtool's lint objects to the abbreviated
    // unit, which is why the same value is there in bytes too.
    {"ai_agent_memory_usage_mb", "gauge",
     "Resident memory of the live runners and this handler process, in MiB."},
};

std::string number(double value) {
    char text[40];
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        std::snprintf(text, sizeof text, "%.0f", value);
    else
        std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

std::string with_labels(const std::string &name, const std::string &labels) {
    return labels.empty() ? name : name + "{" + labels + "}";
}

// le="0.5" -> 0.5; le="+Inf" -> infinity.
double bucket_bound(const std::string &labels) {
    const std::size_t at = labels.rfind("le=\"");
    if (at == std::string::npos)
        return 0;
    const std::string text = labels.substr(at + 4, labels.size() - at - 5);
    return text == "+Inf" ? INFINITY : std::strtod(text.c_str(), nullptr);
}

// The labels of a bucket without its le, to group a histogram's series.
std::string without_le(const std::string &labels) {
    const std::size_t at = labels.rfind("le=\"");
    if (at == std::string::npos)
        return labels;
    return labels.substr(0, at > 0 ? at - 1 : 0);
}

double counter(const std::vector<MetricRow> &rows, const std::string &name,
               const std::string &labels = "") {
    for (const MetricRow &row : rows)
        if (row.name == name && row.labels == labels)
            return row.value;
    return 0;
}

// The sum of a family's series whose labels start with `labels`: direction="input" over every
// provider.
double counter_sum(const std::vector<MetricRow> &rows, const std::string &name,
                   const std::string &labels) {
    double sum = 0;
    for (const MetricRow &row : rows)
        if (row.name == name && row.labels.rfind(labels, 0) == 0)
            sum += row.value;
    return sum;
}

struct Snapshot {
    std::vector<MetricRow> rows;
    ServiceGauges gauges;
    double cpu_percent = 0;
    double memory_mb = 0;
};

Snapshot take_snapshot(HandlerContext &context) {
    const ReadSnapshot snapshot(context.db);
    Snapshot taken{read_metric_counters(context.db), read_service_gauges(context.db, Clock::now())};
    taken.cpu_percent = taken.gauges.runner_cpu_percent + context.process.cpu_percent.load();
    taken.memory_mb = taken.gauges.runner_memory_mb + context.process.memory_mb.load();
    return taken;
}

void render_histogram(std::string &out, const std::string &name,
                      const std::vector<MetricRow> &rows) {
    std::map<std::string, std::vector<const MetricRow *>> series; // labels without le -> buckets
    for (const MetricRow &row : rows)
        if (row.name == name + "_bucket")
            series[without_le(row.labels)].push_back(&row);
    for (auto &[labels, buckets] : series) {
        std::sort(buckets.begin(), buckets.end(), [](const MetricRow *a, const MetricRow *b) {
            return bucket_bound(a->labels) < bucket_bound(b->labels);
        });
        for (const MetricRow *bucket : buckets)
            out +=
                with_labels(name + "_bucket", bucket->labels) + " " + number(bucket->value) + "\n";
        out += with_labels(name + "_sum", labels) + " " +
               number(counter(rows, name + "_sum", labels)) + "\n";
        out += with_labels(name + "_count", labels) + " " +
               number(counter(rows, name + "_count", labels)) + "\n";
    }
}

std::string render_prometheus(const Snapshot &snapshot) {
    const std::vector<MetricRow> &rows = snapshot.rows;
    std::string out;
    for (const Family &family : families) {
        const std::string name = family.name;
        out.append("# HELP ").append(name).append(" ").append(family.help).append("\n");
        out.append("# TYPE ").append(name).append(" ").append(family.type).append("\n");
        if (std::string(family.type) == "histogram") {
            render_histogram(out, name, rows);
        } else if (name == "ai_agent_tasks_completed_total") {
            out += name + " " +
                   number(counter(rows, "ai_agent_tasks_finished_total", "status=\"completed\"")) +
                   "\n";
        } else if (name == "ai_agent_tasks_failed_total") {
            out += name + " " +
                   number(counter(rows, "ai_agent_tasks_finished_total", "status=\"failed\"") +
                          counter(rows, "ai_agent_tasks_finished_total", "status=\"timeout\"")) +
                   "\n";
        } else if (name == "ai_agent_active_tasks") {
            out += name + " " + number(static_cast<double>(snapshot.gauges.running)) + "\n";
        } else if (name == "ai_agent_queue_depth") {
            out += name + " " + number(static_cast<double>(snapshot.gauges.queued)) + "\n";
        } else if (name == "ai_agent_runners_alive") {
            out += name + " " + number(snapshot.gauges.runners_alive) + "\n";
        } else if (name == "ai_agent_cpu_usage_percent") {
            out += name + " " + number(snapshot.cpu_percent) + "\n";
        } else if (name == "ai_agent_memory_usage_bytes") {
            out += name + " " + number(snapshot.memory_mb * 1024 * 1024) + "\n";
        } else if (name == "ai_agent_memory_usage_mb") {
            out += name + " " + number(snapshot.memory_mb) + "\n";
        } else {
            bool any = false;
            for (const MetricRow &row : rows)
                if (row.name == name) {
                    out += with_labels(name, row.labels) + " " + number(row.value) + "\n";
                    any = true;
                }
            if (!any && (name == "ai_agent_tasks_total" || name == "ai_agent_llm_calls_total"))
                out += name + " 0\n"; // unlabelled counters exist from the start
        }
    }
    return out;
}

HttpResponse prometheus(HandlerContext &context, const Call &) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = render_prometheus(take_snapshot(context));
    return response;
}

// A label's value: tool="read_file",outcome="failed" -> ("tool") = read_file.
std::string label(const std::string &labels, const std::string &key) {
    const std::string prefix = key + "=\"";
    const std::size_t at = labels.find(prefix);
    if (at == std::string::npos)
        return "";
    const std::size_t start = at + prefix.size();
    return labels.substr(start, labels.find('"', start) - start);
}

HttpResponse metrics_json(HandlerContext &context, const Call &) {
    const Snapshot snapshot = take_snapshot(context);
    const std::vector<MetricRow> &rows = snapshot.rows;
    const auto finished = [&](const char *status) {
        return counter(rows, "ai_agent_tasks_finished_total",
                       std::string("status=\"") + status + "\"");
    };
    double requests = 0, request_seconds = 0;
    JsonPtr by_status(json_object());
    JsonPtr tools(json_object());
    for (const MetricRow &row : rows) {
        if (row.name == "ai_agent_requests_total") {
            requests += row.value;
            const std::string status = label(row.labels, "status");
            json_t *current = json_object_get(by_status.get(), status.c_str());
            json_object_set_new(by_status.get(), status.c_str(),
                                json_integer(static_cast<json_int_t>(row.value) +
                                             (current ? json_integer_value(current) : 0)));
        } else if (row.name == "ai_agent_request_duration_seconds_sum") {
            request_seconds += row.value;
        } else if (row.name == "ai_agent_tool_calls_total") {
            const std::string tool = label(row.labels, "tool");
            json_t *entry = json_object_get(tools.get(), tool.c_str());
            if (!entry) {
                entry = json_pack("{s:i,s:i}", "completed", 0, "failed", 0);
                json_object_set_new(tools.get(), tool.c_str(), entry);
            }
            json_object_set_new(entry, label(row.labels, "outcome").c_str(),
                                json_integer(static_cast<json_int_t>(row.value)));
        }
    }
    const double task_count = counter(rows, "ai_agent_task_duration_seconds_count");
    const double task_seconds = counter(rows, "ai_agent_task_duration_seconds_sum");
    JsonPtr body(json_pack(
        "{s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:f,s:O},s:{s:I,s:f},s:{s:I,s:{s:I,s:I}},s:O,s:i,"
        "s:f,s:f}",
        "tasks", "total", static_cast<json_int_t>(counter(rows, "ai_agent_tasks_total")),
        "completed", static_cast<json_int_t>(finished("completed")), "failed",
        static_cast<json_int_t>(finished("failed")), "timeout",
        static_cast<json_int_t>(finished("timeout")), "cancelled",
        static_cast<json_int_t>(finished("cancelled")), "running",
        static_cast<json_int_t>(snapshot.gauges.running), "queued",
        static_cast<json_int_t>(snapshot.gauges.queued), "requests", "total",
        static_cast<json_int_t>(requests), "average_duration_seconds",
        requests > 0 ? request_seconds / requests : 0.0, "by_status", by_status.get(),
        "task_duration", "count", static_cast<json_int_t>(task_count), "average_seconds",
        task_count > 0 ? task_seconds / task_count : 0.0, "llm", "calls",
        static_cast<json_int_t>(counter(rows, "ai_agent_llm_calls_total")), "tokens", "input",
        static_cast<json_int_t>(
            counter_sum(rows, "ai_agent_llm_tokens_total", "direction=\"input\"")),
        "output",
        static_cast<json_int_t>(
            counter_sum(rows, "ai_agent_llm_tokens_total", "direction=\"output\"")),
        "tool_calls", tools.get(), "runners_alive", snapshot.gauges.runners_alive,
        "cpu_usage_percent", snapshot.cpu_percent, "memory_usage_mb", snapshot.memory_mb));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> metrics_routes() {
    return {
        {Method::Get, "/metrics", Scope::Read, prometheus},
        {Method::Get, "/api/v1/metrics", Scope::Read, metrics_json},
    };
}

} // namespace tr::fcgi
