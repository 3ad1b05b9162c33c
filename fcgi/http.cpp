// HTTP responses and query strings.
#include "fcgi/http.h"

#include <strings.h>

#include <algorithm>
#include <cstring>

namespace tr::fcgi {

std::optional<std::string> HttpRequest::param(const std::string &name) const {
    const auto found = params.find(name);
    if (found == params.end())
        return std::nullopt;
    return found->second;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
    std::string_view rest = query;
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (percent_decode(pair.substr(0, eq)) != name)
            continue;
        return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    return std::nullopt;
}

std::vector<std::string> HttpRequest::query_names() const {
    std::vector<std::string> names;
    std::string_view rest = query;
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (!pair.empty())
            names.push_back(percent_decode(pair.substr(0, pair.find('='))));
    }
    return names;
}

void HttpResponse::set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
}

HttpResponse json_response(int status, const json_t *body) {
    HttpResponse response;
    response.status = status;
    response.body = dump_json(body);
    return response;
}

HttpResponse error_response(const Error &error) {
    JsonPtr body(json_pack("{s:{s:s,s:s%}}", "error", "code", error.code_name(), "message",
                           error.what(), std::strlen(error.what())));
    if (!body) // json_pack refuses invalid UTF-8; the message then goes out repaired
        body.reset(json_pack("{s:{s:s,s:s}}", "error", "code", error.code_name(), "message",
                             to_valid_utf8(error.what()).c_str()));
    HttpResponse response = json_response(error.http_status(), body.get());
    if (error.code() == ErrorCode::AuthenticationError) // RFC 6750 §3
        response.set_header("WWW-Authenticate", "Bearer realm=\"task-runner\"");
    // Busy, or too many waiting: soon, unless the error knows better (a full disk takes longer).
    if (error.code() == ErrorCode::ServiceUnavailable)
        response.set_header("Retry-After",
                            std::to_string(std::max<long long>(error.retry_after().count(), 1)));
    return response;
}

const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

std::string percent_decode(std::string_view text) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
                   hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

} // namespace tr::fcgi

namespace tr::fcgi {

bool is_json_media_type(std::string_view content_type) {
    const std::size_t semicolon = content_type.find(';');
    std::string_view type = content_type.substr(0, semicolon);
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!type.empty() && blank(type.front()))
        type.remove_prefix(1);
    while (!type.empty() && blank(type.back()))
        type.remove_suffix(1);
    constexpr std::string_view json = "application/json";
    return type.size() == json.size() && strncasecmp(type.data(), json.data(), json.size()) == 0;
}

} // namespace tr::fcgi
