// Fuzz target: the bodies of POST /api/v1/tasks and POST /api/v1/tasks/batch, from raw bytes the
// way the handlers take them (parse_body, then parse_task_request / parse_batch_request), on a
// server without API keys and as an owner with a workspace of its own.
//
// Beyond not crashing: a refusal is InvalidRequest with a message that can be answered as JSON;
// an accepted context resolves again from its stored form (the runner does that at claim time)
// to real directories inside the grants: never outside/, never another owner's workspace, and
// never writable where the server only lets tasks read.
#include "core/task_request.h"
#include "core/batch_store.h"
#include "core/config.h"
#include "core/json.h"
#include "core/paths.h"
#include "fcgi/handlers/common.h"
#include "fcgi/http.h"
#include "fuzz_support.h"

#include <unistd.h>

#include <string>
#include <vector>

namespace tr::fuzz {
namespace {

struct Server {
    Config config;
    std::string owner;                 // "" without API keys
    std::vector<std::string> readable; // every directory a task of this owner may read
    std::vector<std::string> writable; // ...and write
};

struct World {
    test::TempDir dir;
    Server open;
    Server owned;

    World() {
        // work/ is the tasks' writable working directory, with a symlink out of it; readonly/ may
        // only be read; outside/ is granted to no one; spaces/ holds the owners' workspaces.
        for (const char *name : {"work/sub", "readonly/deep", "outside", "spaces/bob", "shared"})
            dir.make_dir(name);
        dir.write("work/file.txt", "not a directory\n");
        if (::symlink((dir / "outside").c_str(), (dir / "work/escape").c_str()) != 0 ||
            ::symlink("../readonly", (dir / "work/up").c_str()) != 0)
            broken("cannot make the symlinks");
        const std::string tools = "tools = {\n"
                                  "    working_directory = \"work\";\n"
                                  "    allowed_paths = [\"work\", \"readonly\"];\n"
                                  "    writable_paths = [\"work\"];\n"
                                  "    sandbox = \"none\";\n";
        const std::string storage = "storage = { database = \"data/tasks.db\"; };\n";
        open.config = test::write_and_load_config(dir, tools + "};\n" + storage,
                                                  test::environment_of(), "open.cfg");
        open.readable = {dir / "work", dir / "readonly"};
        open.writable = {dir / "work"};

        owned.config = test::write_and_load_config(
            dir,
            tools +
                "    workspace_root = \"spaces\";\n"
                "    shared_directories = [\"alice:shared\", \"bob:readonly\"];\n};\n"
                "service = { require_api_key = true; };\n" +
                storage,
            test::environment_of(), "owned.cfg");
        owned.owner = "alice";
        owned.readable = {dir / "spaces/alice", dir / "shared", dir / "work", dir / "readonly"};
        owned.writable = {dir / "spaces/alice", dir / "shared", dir / "work"};
    }
};

World &world() {
    static World instance;
    return instance;
}

// What the handler answers for a refusal must be JSON, whatever bytes the message quotes.
void check_refusal(const Error &error) {
    require(error.code() == ErrorCode::InvalidRequest,
            std::string("a request was refused with ") + error.code_name() + ": " + error.what());
    const fcgi::HttpResponse response = fcgi::error_response(error);
    require(response.status == 400, "a refusal is not answered 400");
    parse_json(response.body); // throws (a finding) when it is not JSON
}

void check_context(const TaskRequest &request, const Server &server) {
    if (!request.context)
        return;
    // As stored and read back by the runner.
    const JsonPtr stored = parse_json(dump_json(request.context.get()));
    TaskContext context;
    try {
        context = resolve_task_context(stored.get(), server.config, server.owner);
    } catch (const Error &e) {
        broken(std::string("an accepted context does not resolve again: ") + e.what());
    }
    const auto resolved = [](const std::string &path, const char *what) {
        require(real_directory(path) == path,
                std::string(what) + " \"" + path + "\" is not a resolved, existing directory");
    };
    for (const std::string &path : context.allowed_paths) {
        resolved(path, "an allowed path");
        require(is_within_any(path, server.readable),
                "allowed path \"" + path + "\" is outside what the server lets this task read");
    }
    for (const std::string &path : context.writable_paths) {
        resolved(path, "a writable path");
        require(is_within_any(path, server.writable),
                "writable path \"" + path + "\" is outside what the server lets this task write");
        require(is_within_any(path, context.allowed_paths),
                "writable path \"" + path + "\" is not among the task's readable paths");
    }
    resolved(context.working_directory, "the working directory");
    require(is_within_any(context.working_directory, context.allowed_paths),
            "working directory \"" + context.working_directory + "\" is not readable");
    for (const auto &[name, value] : context.environment)
        require(name.compare(0, 3, "LD_") != 0, "an LD_ variable was accepted");
}

void check_task(const TaskRequest &request, const Server &server) {
    require(!request.task.empty() && request.task.size() <= max_task_text_bytes,
            "an accepted task text is empty or too long");
    require(!request.task_id || (!request.task_id->empty() && *request.task_id != "batch" &&
                                 request.task_id->size() <= max_task_id_length),
            "an accepted task_id is not a valid id");
    check_context(request, server);
}

void run(const fcgi::HttpRequest &http, const Server &server) {
    JsonPtr body;
    try {
        body = fcgi::parse_body(http, "{\"task\": \"list the files in .\"}");
    } catch (const Error &e) {
        check_refusal(e);
        return;
    }
    try {
        check_task(parse_task_request(body.get(), server.config, server.owner), server);
    } catch (const Error &e) {
        check_refusal(e);
    }
    try {
        const BatchRequest batch = parse_batch_request(body.get(), server.config, server.owner);
        require(!batch.tasks.empty() && batch.tasks.size() <= max_batch_tasks,
                "an accepted batch has no tasks or too many");
        for (const TaskRequest &task : batch.tasks)
            check_task(task, server);
    } catch (const Error &e) {
        check_refusal(e);
    }
}

} // namespace
} // namespace tr::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace tr::fuzz;
    World &w = world();
    tr::fcgi::HttpRequest http;
    http.method = "POST";
    http.path = "/api/v1/tasks";
    http.body = std::string(as_text(data, size));
    run(http, w.open);
    run(http, w.owned);
    return 0;
}
