// Routing is data: each handler file exports its table of {method, pattern, scope, handler,
// query parameters}, and the router matches the path first (404 when nothing matches), the
// method second (405 with Allow when the path is known), then checks the caller's API key for
// the route's scope (401, 403) and the query parameters (400 for one the route does not take)
// before the handler runs.
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
    Scope scope;         // what the caller's key must allow; Scope::None: open (/health)
    Handler handler;
    // The query parameters it takes. Any other is refused (400, naming it) before the handler
    // runs, on every route alike: a typo such as ?stauts=failed must not quietly answer as if
    // no filter had been asked for.
    std::vector<std::string> query = {};
};

class Router {
public:
    explicit Router(std::vector<Route> routes);

    // Runs the matching handler and says which route matched ("" for none), for the metrics.
    // Errors from authentication and from handlers pass through as exceptions.
    HttpResponse dispatch(HandlerContext &context, const HttpRequest &request,
                          const StreamWriter &stream, std::string &matched) const;

    const std::vector<Route> &routes() const noexcept { return routes_; }

private:
    std::vector<Route> routes_;
};

// The principal of the request's API key (Authorization: Bearer, or X-API-Key). Open access when
// service.require_api_key is off. Throws Error(AuthenticationError) without a valid key,
// Error(AuthorizationError) when the key lacks `scope`.
Principal authorize(HandlerContext &context, const HttpRequest &request, Scope scope);

} // namespace tr::fcgi
