// GET /api/v1/metrics/history: the last hour of the queue, minute by minute
// (core/queue_history.h), for the console's chart.
#include "fcgi/handlers/routes.h"

#include "core/queue_history.h"

namespace tr::fcgi {
namespace {

HttpResponse get_history(HandlerContext &context, const Call &) {
    const JsonPtr body = queue_history_json(queue_history(context.db, Clock::now()));
    return json_response(200, body.get());
}

} // namespace

std::vector<Route> history_routes() {
    return {{Method::Get, "/api/v1/metrics/history", Scope::Read, get_history}};
}

} // namespace tr::fcgi
