// Every route of the API in one table: what the FastCGI server serves, and what the client
// library's in-process transport dispatches to.
#include "fcgi/handlers/routes.h"

namespace tr::fcgi {

std::vector<Route> all_routes() {
    std::vector<Route> routes;
    for (const auto &table :
         {health_routes(), task_routes(), event_routes(), batch_routes(), status_routes(),
          tool_routes(), metrics_routes(), config_routes(), openapi_routes(), session_routes(),
          bulk_cancel_routes(), history_routes()})
        routes.insert(routes.end(), table.begin(), table.end());
    return routes;
}

} // namespace tr::fcgi
