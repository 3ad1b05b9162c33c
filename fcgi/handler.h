// What every handler receives: its thread's database connection, the configuration, the log,
// the request, and the values of the route's {name} segments.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "fcgi/http.h"

#include <chrono>
#include <map>
#include <string>

namespace tr::fcgi {

struct HandlerContext {
    const Config &config;
    const Log &log;
    Db &db;                                        // this thread's own connection
    std::chrono::steady_clock::time_point started; // process start, for uptime
};

struct Call {
    const HttpRequest &request;
    std::map<std::string, std::string> path; // {id} -> "42"

    const std::string &path_param(const std::string &name) const { return path.at(name); }
};

using Handler = HttpResponse (*)(HandlerContext &context, const Call &call);

} // namespace tr::fcgi
