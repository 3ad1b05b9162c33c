// `task-runner task "..."`: submit one task, follow its events to the end, print the result.
// The REPL (interactive) and the launcher's demo follow their tasks the same way.
#pragma once

#include "cli/server.h"
#include "core/json.h"

#include <chrono>
#include <iosfwd>
#include <string>

namespace tr::cli {

class Invocation;

enum class OutputMode { Text, Verbose, Json };

struct FollowOptions {
    OutputMode output = OutputMode::Text;
    std::chrono::seconds wait_limit{0}; // 0: as long as the task runs
};

// Follows the submitted task `id` to its end, showing its progress, then prints it. Ctrl-C
// (within an InterruptScope) cancels it on the server. Returns the exit status: 0 completed,
// 1 failed / timed out / cancelled / still running at the wait limit, 130 interrupted. Throws
// task_runner::Error when the server cannot be reached or refuses.
int follow_task(Server &server, const std::string &id, const FollowOptions &options);

// The document the server sent, for printing.
JsonPtr json_of(const std::string &document);

// The task as `--output text|verbose` shows it.
void print_task(const json_t *task, OutputMode mode, std::ostream &out);

int task_command(const Invocation &invocation);

} // namespace tr::cli
