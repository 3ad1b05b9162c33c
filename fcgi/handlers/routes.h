// The route tables, one per resource file.
#pragma once

#include "fcgi/router.h"

#include <vector>

namespace tr::fcgi {

std::vector<Route> health_routes();
std::vector<Route> task_routes();
std::vector<Route> config_routes();
std::vector<Route> status_routes();

} // namespace tr::fcgi
