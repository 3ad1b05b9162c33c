// The route tables, one per resource file.
#pragma once

#include "fcgi/router.h"

#include <vector>

namespace tr::fcgi {

std::vector<Route> health_routes();
std::vector<Route> task_routes();
std::vector<Route> event_routes();
std::vector<Route> batch_routes();
std::vector<Route> status_routes();
std::vector<Route> tool_routes();
std::vector<Route> metrics_routes();
std::vector<Route> config_routes();
std::vector<Route> openapi_routes();
// The web console's additions: who the caller is, bulk cancel, the last hour of the queue.
std::vector<Route> session_routes();
std::vector<Route> bulk_cancel_routes();
std::vector<Route> history_routes();

// All of the above, in that order.
std::vector<Route> all_routes();

} // namespace tr::fcgi
