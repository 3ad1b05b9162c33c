// One request from parameters to response, with the error boundary of the handler process.
#include "fcgi/respond.h"

#include "core/random.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace tr::fcgi {
namespace {

// CONTENT_LENGTH as a size, or throws: a body over the limit is refused before it is read.
std::size_t content_length(const HttpRequest &request, std::size_t limit) {
    const std::optional<std::string> text = request.param("CONTENT_LENGTH");
    if (!text || text->empty())
        return 0;
    char *end = nullptr;
    const unsigned long long length = std::strtoull(text->c_str(), &end, 10);
    if (*end != '\0')
        throw Error(ErrorCode::InvalidRequest, "Content-Length is not a number");
    if (length > limit)
        throw Error(ErrorCode::PayloadTooLarge, "the request body is " + std::to_string(length) +
                                                    " bytes; the limit is " +
                                                    std::to_string(limit));
    return static_cast<std::size_t>(length);
}

std::string read_body(std::size_t length, const BodyReader &read) {
    std::string body(length, '\0');
    std::size_t filled = 0;
    while (filled < length) {
        const std::size_t n = read(body.data() + filled, length - filled);
        if (n == 0)
            throw Error(ErrorCode::InvalidRequest, "the request body ended after " +
                                                       std::to_string(filled) + " of " +
                                                       std::to_string(length) + " bytes");
        filled += n;
    }
    return body;
}

HttpRequest make_request(std::map<std::string, std::string> params) {
    HttpRequest request;
    request.params = std::move(params);
    request.method = request.param("REQUEST_METHOD").value_or("GET");
    // nginx's $document_uri is decoded and normalised; PATH_INFO is what plain CGI hosts give.
    request.path = request.param("DOCUMENT_URI").value_or(request.param("PATH_INFO").value_or("/"));
    if (request.path.size() > 1 && request.path.back() == '/')
        request.path.pop_back();
    request.query = request.param("QUERY_STRING").value_or("");
    request.request_id = request.param("REQUEST_ID").value_or("");
    if (request.request_id.empty())
        request.request_id = random_hex(16);
    return request;
}

// The method as the request metrics name it: one of HTTP's, or "other". nginx passes any
// method on (TRACE aside), so a label of each one sent would be a new set of counters, in
// memory and in SQLite, for as long as the database lives.
const std::string &metric_method(const std::string &method) {
    static const std::string known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    static const std::string other = "other";
    for (const std::string &name : known)
        if (method == name)
            return name;
    return other;
}

// Server-side failures are logged under the request id; a 500 tells the client only that id,
// never SQL, paths or library text. `cause`: what the library said, for the log only.
HttpResponse answer_error(const Error &error, const HttpRequest &request, const Log &log,
                          const std::string &cause = "") {
    const std::string logged = cause.empty() ? error.what() : error.what() + (": " + cause);
    // A 500 is ours to fix (error); a 503 is load, a busy database or a full disk (warn).
    if (error.http_status() == 500)
        log.error("request.failed", {{"request_id", request.request_id},
                                     {"method", request.method},
                                     {"path", request.path},
                                     {"status", error.http_status()},
                                     {"error", logged}});
    else if (error.http_status() >= 500)
        log.warn("request.refused", {{"request_id", request.request_id},
                                     {"method", request.method},
                                     {"path", request.path},
                                     {"status", error.http_status()},
                                     {"error", logged}});
    if (error.http_status() == 500)
        return error_response(
            Error(ErrorCode::InternalError, "internal error (request " + request.request_id + ")"));
    return error_response(error);
}

} // namespace

HttpResponse respond(const Router &router, HandlerContext &context,
                     std::map<std::string, std::string> params, const BodyReader &read,
                     const StreamWriter &stream) {
    const auto started = std::chrono::steady_clock::now();
    HttpRequest request = make_request(std::move(params));
    HttpResponse response;
    std::string route;
    try {
        const std::size_t limit =
            static_cast<std::size_t>(context.config.service.max_request_body_kb) * 1024;
        request.body = read_body(content_length(request, limit), read);
        response = router.dispatch(context, request, stream, route);
    } catch (const Error &e) {
        response = answer_error(e, request, context.log);
    } catch (const SQLite::Exception &e) {
        response = answer_error(database_error(e), request, context.log,
                                std::string(e.what()) + " (SQLite code " +
                                    std::to_string(e.getExtendedErrorCode()) + ")");
    } catch (const std::exception &e) {
        response = answer_error(Error(ErrorCode::InternalError, e.what()), request, context.log);
    }
    response.set_header("X-Request-Id", request.request_id);
    context.process.metrics.record(
        metric_method(request.method), route.empty() ? "unmatched" : route, response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return response;
}

std::map<std::string, std::string> parse_params(char **entries) {
    std::map<std::string, std::string> params;
    for (char **entry = entries; entry && *entry; ++entry) {
        const char *equals = std::strchr(*entry, '=');
        if (equals)
            params.emplace(std::string(*entry, static_cast<std::size_t>(equals - *entry)),
                           std::string(equals + 1));
    }
    return params;
}

std::string serialize_cgi(const HttpResponse &response) {
    std::string out = "Status: " + std::to_string(response.status) + " " +
                      reason_phrase(response.status) + "\r\n";
    out += "Content-Type: " + response.content_type + "\r\n";
    bool cache_control = false;
    for (const auto &[name, value] : response.headers) {
        out.append(name).append(": ").append(value).append("\r\n");
        cache_control = cache_control || name == "Cache-Control";
    }
    // API answers are about a moment: no cache may keep them, unless a handler said otherwise.
    if (!cache_control)
        out += "Cache-Control: no-store\r\n";
    out += "\r\n";
    out += response.body;
    return out;
}

} // namespace tr::fcgi
