// GET /health: alive, the database answers and can be written, and at least one runner has a
// recent heartbeat. 503 otherwise, with the reason, so a load balancer and a human both know
// what is wrong.
#include "fcgi/handlers/routes.h"

#include "core/runners.h"

namespace tr::fcgi {
namespace {

HttpResponse unhealthy(json_t *body, const char *database, const std::string &reason) {
    json_object_set_new(body, "status", json_string("unhealthy"));
    json_object_set_new(body, "database", json_string(database));
    json_object_set_new(body, "reason", json_text(reason));
    return json_response(503, body);
}

HttpResponse get_health(HandlerContext &context, const Call &) {
    JsonPtr body(json_object());
    json_object_set_new(body.get(), "version", json_string(TR_VERSION));
    RunnerSummary runners;
    try {
        runners = summarize_runners(context.db, Clock::now());
    } catch (const SQLite::Exception &e) {
        context.log.warn("health.database_failed", {{"error", e.what()}});
        const Error error = database_error(e);
        return unhealthy(body.get(), "unavailable",
                         error.code() == ErrorCode::ServiceUnavailable
                             ? error.what()
                             : std::string("the database does not answer"));
    }
    json_object_set_new(body.get(), "runners_alive", json_integer(runners.alive));
    // What commands run in, so nobody mistakes a runner without bubblewrap for a sandboxed one.
    json_object_set_new(body.get(), "sandbox",
                        runners.sandbox.empty() ? json_null() : json_text(runners.sandbox));
    json_object_set_new(body.get(), "last_runner_heartbeat",
                        runners.last_heartbeat ? json_string(runners.last_heartbeat->c_str())
                                               : json_null());
    // Checked before the runners: with an unwritable database no runner can record anything, so
    // this is the cause to report.
    if (const std::optional<Error> failure =
            context.process.write_probe.check(context.db, context.process.write_gate)) {
        if (failure->code() == ErrorCode::ServiceUnavailable)
            return unhealthy(body.get(), "unwritable", failure->what());
        context.log.error("health.write_probe_failed", {{"error", failure->what()}});
        return unhealthy(body.get(), "unwritable", "the database cannot be written");
    }
    json_object_set_new(body.get(), "database", json_string("ok"));
    if (runners.alive == 0) {
        json_object_set_new(body.get(), "status", json_string("unhealthy"));
        json_object_set_new(
            body.get(), "reason",
            json_string("no runner has sent a heartbeat recently; queued tasks will not run"));
        return json_response(503, body.get());
    }
    json_object_set_new(body.get(), "status", json_string("healthy"));
    return json_response(200, body.get());
}

} // namespace

// Open even when API keys are required: load balancers and probes have none.
std::vector<Route> health_routes() {
    return {{Method::Get, "/health", Scope::None, get_health}};
}

} // namespace tr::fcgi
