// An HTTP exchange as the handlers see it, independent of how it arrived (FastCGI or CGI).
#pragma once

#include "core/error.h"
#include "core/json.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tr::fcgi {

struct HttpRequest {
    std::string method; // "GET"
    std::string path;   // decoded and normalised by nginx: "/api/v1/tasks/42"
    std::string query;  // raw query string, without '?'
    std::string body;
    std::string request_id;                    // nginx's $request_id, or one of ours
    std::map<std::string, std::string> params; // the CGI/FastCGI parameters, HTTP_* included

    // A request header by its CGI name, e.g. "HTTP_X_API_KEY".
    std::optional<std::string> param(const std::string &name) const;
    // A query-string parameter, percent-decoded; nullopt when absent.
    std::optional<std::string> query_param(std::string_view name) const;
    // The names of every query-string parameter, percent-decoded, in order.
    std::vector<std::string> query_names() const;
};

struct HttpResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string content_type = "application/json";
    bool streamed = false; // the handler has written it already (server-sent events)

    void set_header(std::string name, std::string value);
};

// 200 (or `status`) with a JSON body.
HttpResponse json_response(int status, const json_t *body);

// The one way an error is written: {"error":{"code":"...","message":"..."}}.
HttpResponse error_response(const Error &error);

// "Accepted" for 202; "Unknown" when we have no name for it.
const char *reason_phrase(int status);

std::string percent_decode(std::string_view text);

// Whether a Content-Type names JSON: "application/json" in any case, with any parameters
// ("; charset=utf-8"). Browsers send text/plain, forms and multipart across origins without a
// CORS preflight; only JSON bodies are taken, so such a request can never act (SPEC.md §3).
bool is_json_media_type(std::string_view content_type);

} // namespace tr::fcgi
