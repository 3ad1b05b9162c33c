// `task-runner task "..."`: submit through the HTTP API, wait, print the result.
#pragma once

#include "cli/api_client.h"

#include <chrono>
#include <string>
#include <vector>

namespace tr::cli {

enum class OutputMode { Text, Verbose, Json };

struct TaskOptions {
    std::string task;
    std::string priority; // empty: the server's default
    OutputMode output = OutputMode::Text;
    bool progress = false;              // live steps on stderr (a terminal)
    std::chrono::seconds wait_limit{0}; // 0: as long as the task runs
};

// Submits, waits for a terminal status and prints it to stdout. Returns the exit status:
// 0 completed, 1 failed / timeout / cancelled, 3 server unreachable or request refused.
int run_task(ApiClient &client, const TaskOptions &options);

int task_command(const std::vector<std::string> &args);

} // namespace tr::cli
