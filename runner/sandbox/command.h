// Running one shell command for a task, confined by the runner's Sandbox: in a control group of
// its own, inside bubblewrap when available, with a scrubbed environment, resource limits, a
// wall-clock timeout that kills everything it started, and stdout/stderr captured up to a cap.
// Stops early, killing it all, when the task is cancelled, times out, or the runner shuts down.
#pragma once

#include "core/process.h"
#include "runner/sandbox/sandbox.h"
#include "runner/task_control.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tr::runner {

struct CommandSpec {
    std::string command;
    std::string working_directory;
    std::vector<std::string> readable_paths;                      // resolved roots
    std::vector<std::string> writable_paths;                      // resolved roots
    std::vector<std::pair<std::string, std::string>> environment; // added to the base environment
    std::chrono::milliseconds timeout{60000};
    std::size_t max_output_bytes = std::size_t{64} * 1024; // per stream
};

struct CapturedStream {
    std::string text;
    bool truncated = false;
    std::size_t total_bytes = 0; // including what was cut
};

struct CommandResult {
    ExitStatus status;
    CapturedStream out;
    CapturedStream err;
    bool timed_out = false;            // the command's own timeout
    std::optional<StopReason> stopped; // the task was stopped while it ran
    long long duration_ms = 0;
    std::vector<std::string> limits_reached; // "the memory limit of 1024 MB", ...
};

// Throws Error when the command cannot be started at all.
CommandResult run_command(const CommandSpec &spec, const Sandbox &sandbox,
                          const TaskControl &control);

// The environment every command starts from: no variable of the runner's own leaks in.
std::vector<std::pair<std::string, std::string>> base_environment(const std::string &home);

} // namespace tr::runner
