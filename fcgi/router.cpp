// Path matching over the route tables.
#include "fcgi/router.h"

#include "core/strings.h"
#include "core/time.h"

#include <algorithm>
#include <strings.h>

namespace tr::fcgi {
namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start < path.size()) {
        std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos)
            slash = path.size();
        if (slash > start)
            parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

bool match(std::string_view pattern, std::string_view path,
           std::map<std::string, std::string> &params) {
    const std::vector<std::string_view> want = segments(pattern);
    const std::vector<std::string_view> have = segments(path);
    if (want.size() != have.size())
        return false;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}')
            found.emplace(std::string(want[i].substr(1, want[i].size() - 2)), std::string(have[i]));
        else if (want[i] != have[i])
            return false;
    }
    params = std::move(found);
    return true;
}

// Every POST and PUT takes a JSON body, so anything else is refused before it is looked at:
// a page on another origin can send a form or text/plain without asking first (no preflight).
void require_json_body(const HttpRequest &request) {
    const std::string type = request.param("CONTENT_TYPE").value_or("");
    if (is_json_media_type(type))
        return;
    throw Error(
        ErrorCode::UnsupportedMediaType,
        request.method + " " + request.path +
            " takes a JSON body: send Content-Type: application/json (got " +
            (type.empty() ? std::string("no Content-Type") : "\"" + type.substr(0, 80) + "\"") +
            ")");
}

} // namespace

const char *method_name(Method method) noexcept {
    switch (method) {
    case Method::Get: return "GET";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    }
    return "GET";
}

namespace {

// After authentication, so a caller without a key learns nothing more than 401.
void check_query(const Route &route, const HttpRequest &request) {
    for (const std::string &name : request.query_names()) {
        if (std::find(route.query.begin(), route.query.end(), name) != route.query.end())
            continue;
        const std::string takes =
            route.query.empty() ? "takes no query parameters" : "takes " + join(route.query, ", ");
        throw Error(ErrorCode::InvalidRequest, "unknown query parameter \"" + name.substr(0, 40) +
                                                   "\" (" + method_name(route.method) + " " +
                                                   route.pattern + " " + takes + ")");
    }
}

} // namespace

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

HttpResponse Router::dispatch(HandlerContext &context, const HttpRequest &request,
                              const StreamWriter &stream, std::string &matched) const {
    std::vector<std::string> allowed;
    matched.clear();
    // A literal path ("/api/v1/tasks/batch") wins over a pattern that also matches it
    // ("/api/v1/tasks/{id}"): when one matches, only literal routes are considered.
    const bool literal = std::any_of(routes_.begin(), routes_.end(), [&](const Route &route) {
        std::map<std::string, std::string> ignored;
        return std::string_view(route.pattern).find('{') == std::string_view::npos &&
               match(route.pattern, request.path, ignored);
    });
    for (const Route &route : routes_) {
        std::map<std::string, std::string> params;
        if ((literal && std::string_view(route.pattern).find('{') != std::string_view::npos) ||
            !match(route.pattern, request.path, params))
            continue;
        matched = route.pattern;
        // HEAD is answered as GET; nginx drops the body.
        const std::string method = request.method == "HEAD" ? "GET" : request.method;
        if (method == method_name(route.method)) {
            if (route.method == Method::Post || route.method == Method::Put)
                require_json_body(request);
            Principal principal = authorize(context, request, route.scope);
            check_query(route, request);
            return route.handler(context,
                                 Call{request, std::move(params), std::move(principal), stream});
        }
        if (std::find(allowed.begin(), allowed.end(), method_name(route.method)) == allowed.end())
            allowed.emplace_back(method_name(route.method));
    }
    if (allowed.empty())
        return error_response(Error(ErrorCode::NotFound, "no such endpoint: " + request.path));
    std::string list;
    for (const std::string &method : allowed)
        list += (list.empty() ? "" : ", ") + method;
    HttpResponse response = error_response(
        Error(ErrorCode::MethodNotAllowed,
              request.method + " is not allowed on " + request.path + " (allowed: " + list + ")"));
    response.set_header("Allow", list); // RFC 9110 §15.5.6: a 405 must say what is allowed
    return response;
}

Principal authorize(HandlerContext &context, const HttpRequest &request, Scope scope) {
    if (!context.config.service.require_api_key)
        return open_access();
    if (scope == Scope::None)
        return Principal{};
    std::string presented;
    if (std::optional<std::string> header = request.param("HTTP_AUTHORIZATION")) {
        // RFC 6750 §2.1: "Bearer" is case-insensitive, one space, then the token.
        if (header->size() > 7 && strncasecmp(header->c_str(), "Bearer ", 7) == 0)
            presented = header->substr(7);
    }
    if (presented.empty())
        presented = request.param("HTTP_X_API_KEY").value_or("");
    if (presented.empty())
        throw Error(ErrorCode::AuthenticationError,
                    "an API key is required: send Authorization: Bearer KEY or X-API-Key: KEY");
    const std::optional<Principal> principal =
        authenticate_key(context.db, presented, Clock::now());
    if (!principal)
        throw Error(ErrorCode::AuthenticationError,
                    "the API key is not valid (unknown, revoked or mistyped)");
    if (!principal->has(scope))
        throw Error(ErrorCode::AuthorizationError,
                    std::string("this API key does not have the ") + to_string(scope) +
                        " scope that " + request.method + " " + request.path + " needs");
    return *principal;
}

} // namespace tr::fcgi
