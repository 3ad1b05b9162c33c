// The request boundary shared by FastCGI and CGI: build the request from CGI parameters and a
// body reader, route it, and turn every exception into the one error shape. Nothing thrown by a
// handler escapes this function.
#pragma once

#include "fcgi/handler.h"
#include "fcgi/router.h"

#include <cstddef>
#include <functional>
#include <string>

namespace tr::fcgi {

// Reads up to `size` bytes of the body into `buffer`; returns how many (0 at the end).
using BodyReader = std::function<std::size_t(char *buffer, std::size_t size)>;

// `stream` lets a handler send its response in parts (server-sent events); a response it has
// streamed comes back with `streamed` set and must not be written again.
HttpResponse respond(const Router &router, HandlerContext &context,
                     std::map<std::string, std::string> params, const BodyReader &read_body,
                     const StreamWriter &stream);

// CGI parameters from a NULL-terminated "NAME=value" array (environ, FCGX_Request::envp).
std::map<std::string, std::string> parse_params(char **entries);

// The response as CGI output: "Status: 202 Accepted\r\nContent-Type: ...\r\n\r\nbody".
std::string serialize_cgi(const HttpResponse &response);

} // namespace tr::fcgi
