// Every subcommand of task-runner, declared once: the dispatcher, --help, `task-runner help
// CMD` and the overview all read this table (the man page, cli/task-runner.1, is checked
// against it by tests/e2e/test_cli.py).
#pragma once

#include "cli/command_line.h"

#include <string>
#include <vector>

namespace tr::cli {

const std::vector<Command> &commands();

// nullptr when there is no such subcommand.
const Command *find_command(std::string_view name);

// `task-runner help`: every subcommand with its summary, where the server and key come from,
// and the exit statuses.
std::string overview();

// Runs `task-runner ARGS...` (argv without the program name); returns the exit status. Throws
// what the subcommand throws (main reports it).
int dispatch(const std::vector<std::string> &args);

// Defined with the code they run (cli/main.cpp, cli/keys_command.cpp, cli/serve_command.cpp).
int migrate_command(const std::vector<std::string> &args);

} // namespace tr::cli
