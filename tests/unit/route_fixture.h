// A handler process in miniature for the route tests: a migrated database in a temp dir, the
// configuration, a router over all_routes(), and requests answered as the FastCGI loop answers
// them (an Error becomes its JSON error response).
#pragma once

#include "core/api_keys.h"
#include "core/json.h"
#include "core/migrate.h"
#include "core/task_store.h"
#include "fcgi/handlers/routes.h"
#include "fcgi/router.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace tr::fcgi::test_routes {

class RouteTest : public ::testing::Test {
protected:
    RouteTest()
        : path_(prepared(dir_ / "tasks.db")), log_fd_(::open("/dev/null", O_WRONLY | O_CLOEXEC)),
          log_("fcgi", LogLevel::Error, log_fd_.get()), db_(path_),
          process_(stopping_), context_{config_, log_, db_, process_}, router_(all_routes()) {
        migrate(db_.handle());
    }

    static std::string prepared(const std::string &path) {
        prepare_database_file(path);
        return path;
    }

    // A key of `owner` with `scopes` ("read,submit"), with authentication turned on.
    std::string key(const std::string &owner, const std::vector<std::string> &scopes) {
        config_.service.require_api_key = true;
        return create_api_key(db_, owner, scopes, "test", "test", Clock::now()).key;
    }

    HttpResponse call(const std::string &method, const std::string &target,
                      const std::string &body = "", const std::string &bearer = "") {
        HttpRequest request;
        request.method = method;
        const std::size_t mark = target.find('?');
        request.path = target.substr(0, mark);
        request.query = mark == std::string::npos ? "" : target.substr(mark + 1);
        request.body = body;
        if (method == "POST" || method == "PUT")
            request.params["CONTENT_TYPE"] = "application/json";
        if (!bearer.empty())
            request.params["HTTP_AUTHORIZATION"] = "Bearer " + bearer;
        std::string matched;
        try {
            return router_.dispatch(context_, request, no_stream_, matched);
        } catch (const Error &error) { // as the request loop answers it
            return error_response(error);
        }
    }

    // A queued task of `owner` submitted `minutes_ago`.
    std::string queued(const std::string &text, Priority priority, const std::string &owner = "",
                       const std::string &batch = "", int minutes_ago = 0) {
        TaskRequest request;
        request.task = text;
        request.priority = priority;
        return insert_task(db_, request, {owner, batch, batch.empty() ? 0 : 1, ""},
                           Clock::now() - std::chrono::minutes(minutes_ago))
            .id;
    }

    std::string status_of(const std::string &id) { return task_head(db_, id).value().status; }

    test::TempDir dir_;
    Config config_;
    std::string path_;
    UniqueFd log_fd_;
    Log log_;
    Db db_;
    std::atomic<bool> stopping_{false};
    ProcessState process_;
    HandlerContext context_;
    Router router_;
    const StreamWriter no_stream_ = [](std::string_view) { return false; };
};

inline JsonPtr body_of(const HttpResponse &response) {
    return parse_json(response.body);
}

inline std::string error_code(const HttpResponse &response) {
    const JsonPtr body = body_of(response);
    return json_string_member(json_object_get(body.get(), "error"), "code").value_or("");
}

inline std::string error_message(const HttpResponse &response) {
    const JsonPtr body = body_of(response);
    return json_string_member(json_object_get(body.get(), "error"), "message").value_or("");
}

} // namespace tr::fcgi::test_routes
