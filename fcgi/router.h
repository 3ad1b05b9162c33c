// Routing is data: each handler file exports its table of {method, pattern, handler}, and the
// router matches the path first (404 when nothing matches) and the method second (405 with
// Allow when the path is known).
#pragma once

#include "fcgi/handler.h"

#include <string>
#include <vector>

namespace tr::fcgi {

enum class Method { Get, Post, Put, Delete };

const char *method_name(Method method) noexcept;

struct Route {
    Method method;
    const char *pattern; // "/api/v1/tasks/{id}": a {name} segment matches one non-empty segment
    Handler handler;
};

class Router {
public:
    explicit Router(std::vector<Route> routes);

    // Runs the matching handler; answers 404 when no pattern matches the path, and 405 with an
    // Allow header when some do but not for this method. Handlers' exceptions pass through.
    HttpResponse dispatch(HandlerContext &context, const HttpRequest &request) const;

private:
    std::vector<Route> routes_;
};

} // namespace tr::fcgi
