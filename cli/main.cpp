// task-runner: the command-line client, and the launcher of the whole stack.
//
//   task-runner task "list the files in ." [--server URL] [--output text|verbose|json]
//   task-runner serve [--config FILE] [--demo [TASK]]
//   task-runner migrate [--config FILE]
//
// Exit status: 0 done (the task completed), 1 the task failed, timed out or was cancelled,
// 2 wrong usage, 3 the server refused the request or could not be reached.
#include "cli/keys_command.h"
#include "cli/serve_command.h"
#include "cli/task_command.h"
#include "cli/usage_error.h"
#include "core/config.h"
#include "core/curl.h"
#include "core/error.h"
#include "core/migrate.h"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace tr::cli {
namespace {

constexpr const char *usage =
    "usage: task-runner task \"TEXT\" [--server URL] [--key KEY] [--output text|verbose|json] "
    "[--priority P] [--wait SECONDS]\n"
    "       task-runner serve [--config FILE] [--demo [TASK]]\n"
    "       task-runner migrate [--config FILE]\n"
    "       task-runner keys create --owner NAME --scopes read,submit,admin [--description TEXT] "
    "[--config FILE]\n"
    "       task-runner keys list [--config FILE]\n"
    "       task-runner keys revoke ID [--config FILE]\n"
    "       task-runner version\n"
    "The server is --server, else $TASK_RUNNER_URL, else http://127.0.0.1:8080; the API key\n"
    "--key, else $TASK_RUNNER_KEY;\n"
    "the config is --config, else $TASK_RUNNER_CONFIG, else the build's config/task-runner.cfg.\n";

int migrate_command(const std::vector<std::string> &args) {
    std::string config_path;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size())
            config_path = args[++i];
        else
            throw UsageError("migrate: unknown argument \"" + args[i] + "\"");
    }
    const Config config = load_config(config_path.empty() ? default_config_path() : config_path);
    const MigrationReport report = set_up_database(config.storage);
    std::cout << config.storage.database << ": schema version " << report.schema_version;
    if (report.applied.empty())
        std::cout << " (up to date)\n";
    else
        std::cout << " (applied " << report.applied.size() << " migration"
                  << (report.applied.size() == 1 ? "" : "s") << ")\n";
    return 0;
}

int run(int argc, char **argv) {
    if (argc < 2)
        throw UsageError("a command is needed");
    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "task")
        return task_command(args);
    if (command == "serve")
        return serve_command(args);
    if (command == "migrate")
        return migrate_command(args);
    if (command == "keys")
        return keys_command(args);
    if (command == "version" || command == "--version") {
        std::cout << "task-runner " << TR_VERSION << "\n";
        return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
        std::cout << usage;
        return 0;
    }
    throw UsageError("unknown command \"" + command + "\"");
}

} // namespace
} // namespace tr::cli

int main(int argc, char **argv) {
    try {
        const tr::CurlGlobal curl; // before any thread, as libcurl requires
        return tr::cli::run(argc, argv);
    } catch (const tr::cli::UsageError &e) {
        std::cerr << "task-runner: " << e.what() << "\n" << tr::cli::usage;
        return 2;
    } catch (const tr::Error &e) {
        std::cerr << "task-runner: " << e.what() << "\n";
        return 3;
    } catch (const std::exception &e) {
        std::cerr << "task-runner: " << e.what() << "\n";
        return 3;
    }
}
