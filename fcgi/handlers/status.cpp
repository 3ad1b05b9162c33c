// GET /api/v1/status: what the service is doing: version, uptime, the queue, the runners, and
// the model tasks run with now, including whether its provider is rate limited.
#include "fcgi/handlers/routes.h"

#include "core/model.h"
#include "core/provider_backoff.h"
#include "core/runners.h"

namespace tr::fcgi {
namespace {

json_t *model_status(HandlerContext &context, TimePoint now) {
    const ModelConfig model =
        effective_model(context.config.model, load_model_overrides(context.db));
    JsonPtr described = describe_model(model);
    try {
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
    } catch (const Error &e) {
        json_object_set_new(described.get(), "problem", json_text(e.what()));
    }
    return described.release();
}

HttpResponse get_status(HandlerContext &context, const Call &) {
    const TimePoint now = Clock::now();
    const ReadSnapshot snapshot(context.db);
    long long queued = 0;
    {
        Query count = context.db.query("SELECT count(*) FROM tasks WHERE status = 'queued'");
        count->executeStep();
        queued = count->getColumn(0).getInt64();
    }
    const RunnerSummary runners = summarize_runners(context.db, now);
    JsonPtr backoffs(json_array());
    for (const ProviderBackoff &backoff : active_provider_backoffs(context.db, now))
        json_array_append_new(backoffs.get(),
                              json_pack("{s:s,s:s,s:s,s:I,s:o}", "endpoint",
                                        backoff.endpoint.c_str(), "provider",
                                        backoff.provider.c_str(), "until", backoff.until.c_str(),
                                        "status", static_cast<json_int_t>(backoff.status), "reason",
                                        json_text(backoff.reason)));
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - context.started);
    JsonPtr body(json_pack(
        "{s:s,s:I,s:I,s:{s:i,s:o},s:o,s:O}", "version", TR_VERSION, "uptime_seconds",
        static_cast<json_int_t>(uptime.count()), "queue_depth", static_cast<json_int_t>(queued),
        "runners", "alive", runners.alive, "last_heartbeat",
        runners.last_heartbeat ? json_string(runners.last_heartbeat->c_str()) : json_null(),
        "model", model_status(context, now), "rate_limited_providers", backoffs.get()));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> status_routes() {
    return {{Method::Get, "/api/v1/status", get_status}};
}

} // namespace tr::fcgi
