// task-runner: the command-line client, and the launcher of the whole stack. The subcommands
// and their help are declared in cli/commands.cpp; `task-runner help` lists them.
//
// Exit status (every subcommand): 0 done, 1 a task did not complete, 2 wrong usage or bad
// input, 3 the server could not be reached or refused, 4 submit's lock is held by another run,
// 130 Ctrl-C while waiting.
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/terminal_text.h"
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

} // namespace tr::cli

namespace {

// A usage mistake: the message, then the synopsis of the command meant (or the overview).
void report_usage(const std::vector<std::string> &args, const char *message) {
    std::cerr << "task-runner: " << tr::cli::terminal_text(message, tr::cli::Lines::Keep) << "\n";
    const tr::cli::Command *command = args.empty() ? nullptr : tr::cli::find_command(args[0]);
    if (command)
        std::cerr << "usage: " << tr::cli::synopsis(*command) << "\n(see task-runner "
                  << command->name << " --help)\n";
    else
        std::cerr << tr::cli::overview();
}

} // namespace

int main(int argc, char **argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        const tr::CurlGlobal curl; // before any thread, as libcurl requires
        return tr::cli::dispatch(args);
    } catch (const tr::cli::UsageError &e) {
        report_usage(args, e.what());
        return tr::cli::exit_bad_input;
    } catch (const tr::cli::InputError &e) {
        std::cerr << "task-runner: " << tr::cli::terminal_text(e.what(), tr::cli::Lines::Keep)
                  << "\n";
        return tr::cli::exit_bad_input;
    } catch (const std::exception &e) { // ApiError, tr::Error: the server or the system
        // The server's own words (an error's code and message) may carry control sequences.
        std::cerr << "task-runner: " << tr::cli::terminal_text(e.what(), tr::cli::Lines::Keep)
                  << "\n";
        return tr::cli::exit_server;
    }
}
