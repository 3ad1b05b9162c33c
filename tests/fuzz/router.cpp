// Fuzz target: a whole HTTP request through the handler process's request boundary (respond():
// CGI parameters, body, router, every real route and handler) against a real database, on a
// stack without API keys and on one that requires them.
//
// An input is a request as text, with {admin}, {alice} and {bob} standing for those API keys:
//
//     POST /api/v1/tasks?wait=0
//     Content-Type: application/json
//     Authorization: Bearer {bob}
//
//     {"task": "list the files in ."}
//
// Beyond not crashing, every response: is never a 500 (a handler failed on its input), has a
// status it can name, a JSON body when it says JSON, and header lines without line breaks; on
// the secured stack, a 2xx for a route that needs a scope only with a key that has it, and
// bob's task only for bob and the admin. The request metrics name only the methods HTTP has.
//
// Every input starts from the same state: after it, the databases are emptied of what requests
// can make and bob's task is made again.
#include "fcgi/router.h"
#include "core/api_keys.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/task_request.h"
#include "core/task_store.h"
#include "fcgi/handlers/routes.h"
#include "fcgi/http.h"
#include "fcgi/respond.h"
#include "fuzz_support.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tr::fuzz {
namespace {

using fcgi::HttpResponse;

constexpr const char *bob_secret = "bob-secret-plan-7c1d";

struct Stack {
    Config config;
    std::optional<Db> db;
    std::atomic<bool> stopping{true}; // waits and event streams return at once
    std::optional<fcgi::ProcessState> process;
    std::map<std::string, std::string> keys; // "{admin}" -> "trk_..."

    void open(const Config &loaded) {
        config = loaded;
        prepare_database_file(config.storage.database);
        db.emplace(config.storage.database);
        migrate(db->handle());
        process.emplace(stopping);
        // Nothing here needs to survive a crash: without fsync, an input takes a fraction of
        // the time.
        db->handle().exec("PRAGMA synchronous = OFF");
    }

    void reset() {
        db->handle().exec("BEGIN; DELETE FROM tasks; DELETE FROM batches; "
                          "DELETE FROM config_overrides; "
                          "DELETE FROM config_changes; DELETE FROM provider_backoff; "
                          "DELETE FROM metric_counters; COMMIT");
        TaskRequest request;
        request.task_id = "bob-private";
        request.task = std::string("read README.md ") + bob_secret;
        insert_task(*db, request, {keys.empty() ? "" : "bob", "", 0, ""}, Clock::now());
    }
};

struct World {
    test::TempDir dir;
    Log log{"fuzz_router", LogLevel::Error}; // a 500 logs its error, then the target aborts
    fcgi::Router router{all_routes()};
    Stack open, secured;

    static std::vector<fcgi::Route> all_routes() {
        std::vector<fcgi::Route> routes;
        for (const auto &table :
             {fcgi::health_routes(), fcgi::task_routes(), fcgi::event_routes(),
              fcgi::batch_routes(), fcgi::status_routes(), fcgi::tool_routes(),
              fcgi::metrics_routes(), fcgi::config_routes(), fcgi::openapi_routes()})
            routes.insert(routes.end(), table.begin(), table.end());
        return routes;
    }

    World() {
        for (const char *name : {"work/sub", "readonly", "spaces"})
            dir.make_dir(name);
        const std::string tools = "tools = {\n"
                                  "    working_directory = \"work\";\n"
                                  "    allowed_paths = [\"work\", \"readonly\"];\n"
                                  "    sandbox = \"none\";\n"
                                  "    workspace_root = \"spaces\";\n"
                                  "};\n";
        open.open(test::write_and_load_config(
            dir, tools + "storage = { database = \"open/tasks.db\"; };\n", test::environment_of(),
            "open.cfg"));
        secured.open(
            test::write_and_load_config(dir,
                                        tools + "service = { require_api_key = true; };\n"
                                                "storage = { database = \"secured/tasks.db\"; };\n",
                                        test::environment_of(), "secured.cfg"));
        const auto key = [&](const char *name, const char *owner,
                             const std::vector<std::string> &scopes) {
            secured.keys[name] =
                create_api_key(*secured.db, owner, scopes, "fuzz", "fuzz", Clock::now()).key;
        };
        key("{admin}", "ops", {"admin"});
        key("{alice}", "alice", {"read"});
        key("{bob}", "bob", {"read", "submit"});
        open.reset();
        secured.reset();
    }
};

World &world() {
    static World instance;
    return instance;
}

struct Request {
    std::map<std::string, std::string> params;
    std::string body;
};

// "METHOD TARGET", header lines, a blank line, the body. Content-Length is the body's unless
// the input gives its own.
Request parse_request(std::string_view text) {
    Request request;
    const auto line = [&]() {
        const std::size_t end = text.find('\n');
        std::string_view out = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (!out.empty() && out.back() == '\r')
            out.remove_suffix(1);
        return std::string(out);
    };
    const std::string first = line();
    const std::size_t space = first.find(' ');
    request.params["REQUEST_METHOD"] = first.substr(0, space);
    const std::string target = space == std::string::npos ? "/" : first.substr(space + 1);
    const std::size_t question = target.find('?');
    request.params["DOCUMENT_URI"] = target.substr(0, question);
    if (question != std::string::npos)
        request.params["QUERY_STRING"] = target.substr(question + 1);
    for (std::string header = line(); !header.empty(); header = line()) {
        const std::size_t colon = header.find(':');
        std::string name = header.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : header.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        for (char &c : name)
            c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (name != "CONTENT_TYPE" && name != "CONTENT_LENGTH")
            name = "HTTP_" + name;
        request.params[name] = value;
    }
    request.body = std::string(text);
    if (!request.params.count("CONTENT_LENGTH") && !request.body.empty())
        request.params["CONTENT_LENGTH"] = std::to_string(request.body.size());
    return request;
}

bool has_line_break(const std::string &text) {
    return text.find_first_of("\r\n", 0, 3) != std::string::npos; // '\0' counts too
}

// The route that answered a successful request: its pattern, and its method (HEAD is GET's).
const fcgi::Route *answering_route(const std::string &pattern, std::string method) {
    if (method == "HEAD")
        method = "GET";
    for (const fcgi::Route &route : world().router.routes())
        if (pattern == route.pattern && method == fcgi::method_name(route.method))
            return &route;
    return nullptr;
}

void check_response(const HttpResponse &response, const std::string &input, Stack &stack,
                    const std::string &method, const std::string &route) {
    require(response.status != 500, "a 500: the handler failed on its input (logged above)");
    require(std::strcmp(fcgi::reason_phrase(response.status), "Unknown") != 0,
            "status " + std::to_string(response.status) + " has no reason phrase");
    for (const auto &[name, value] : response.headers)
        require(!has_line_break(name) && !has_line_break(value),
                "header " + name + " carries a line break: " + value);
    require(!has_line_break(response.content_type), "Content-Type carries a line break");
    if (!response.streamed && response.content_type == "application/json" && !response.body.empty())
        parse_json(response.body);

    if (stack.keys.empty())
        return;
    const auto presented = [&](const char *name) { return input.find(name) != std::string::npos; };
    const bool ok = response.status >= 200 && response.status < 300;
    if (const fcgi::Route *matched = answering_route(route, method); matched && ok) {
        const auto allows = [&](const char *name, std::initializer_list<Scope> scopes) {
            return presented(name) &&
                   std::find(scopes.begin(), scopes.end(), matched->scope) != scopes.end();
        };
        require(matched->scope == Scope::None ||
                    allows("{admin}", {Scope::Read, Scope::Submit, Scope::Admin}) ||
                    allows("{alice}", {Scope::Read}) ||
                    allows("{bob}", {Scope::Read, Scope::Submit}),
                std::to_string(response.status) + " for " + route +
                    " without a key that has its scope");
    }
    if (input.find(bob_secret) == std::string::npos && !presented("{admin}") && !presented("{bob}"))
        require(response.body.find(bob_secret) == std::string::npos,
                "bob's task was shown to someone else: " + response.body.substr(0, 300));
}

// Methods HTTP defines, and what the metrics call any other.
bool is_metric_method(const std::string &labels) {
    for (const char *method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"})
        if (labels.rfind("method=\"" + std::string(method) + "\"", 0) == 0)
            return true;
    return false;
}

// The route respond() recorded for the request (it says so only in the metrics), after checking
// the method label it recorded with it.
std::string recorded_route(Stack &stack) {
    stack.process->metrics.flush(*stack.db);
    Query labels = stack.db->query("SELECT labels FROM metric_counters WHERE name = "
                                   "'ai_agent_requests_total'");
    std::string route;
    while (labels->executeStep()) {
        const std::string text = labels->getColumn(0).getString();
        require(is_metric_method(text), "a request metric labelled " + text);
        const std::size_t start = text.find(",route=\"");
        const std::size_t end = text.find("\",status=");
        if (start != std::string::npos && end != std::string::npos && end > start)
            route = text.substr(start + 8, end - start - 8);
    }
    return route;
}

void run(Stack &stack, const std::string &input) {
    std::string text = input;
    for (const auto &[placeholder, key] : stack.keys)
        for (std::size_t at; (at = text.find(placeholder)) != std::string::npos;)
            text.replace(at, placeholder.size(), key);
    Request request = parse_request(text);
    const std::string method = request.params["REQUEST_METHOD"];
    std::size_t read = 0;
    const fcgi::BodyReader reader = [&](char *buffer, std::size_t size) {
        const std::size_t n = std::min(size, request.body.size() - read);
        std::memcpy(buffer, request.body.data() + read, n);
        read += n;
        return n;
    };
    std::string streamed;
    const fcgi::StreamWriter stream = [&](std::string_view bytes) {
        streamed.append(bytes);
        return true;
    };
    World &w = world();
    fcgi::HandlerContext context{stack.config, w.log, *stack.db, *stack.process};
    const HttpResponse response =
        fcgi::respond(w.router, context, std::move(request.params), reader, stream);
    if (response.streamed)
        require(streamed.rfind("Status: ", 0) == 0, "a stream that does not start with Status");
    check_response(response, input, stack, method, recorded_route(stack));
    stack.reset();
}

} // namespace
} // namespace tr::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace tr::fuzz;
    World &w = world();
    const std::string input(as_text(data, size));
    run(w.open, input);
    run(w.secured, input);
    return 0;
}
