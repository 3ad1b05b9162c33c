// Path matching over the route tables.
#include "fcgi/router.h"

#include <algorithm>

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

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

HttpResponse Router::dispatch(HandlerContext &context, const HttpRequest &request) const {
    std::vector<std::string> allowed;
    for (const Route &route : routes_) {
        std::map<std::string, std::string> params;
        if (!match(route.pattern, request.path, params))
            continue;
        // HEAD is answered as GET; nginx drops the body.
        const std::string method = request.method == "HEAD" ? "GET" : request.method;
        if (method == method_name(route.method))
            return route.handler(context, Call{request, std::move(params)});
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

} // namespace tr::fcgi
