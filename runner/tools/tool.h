// The tools a task can call. Each tool is one file with one function; its name, description
// and parameter schema live in core/tool_catalog so the handlers and the runner agree on them.
//
// A tool's failure (a missing file, a command's non-zero exit) is a ToolResult with ok=false
// that goes back to the model, not an exception. Only a stop (timeout, cancel, shutdown)
// throws, as TaskStopped, because then the task ends.
#pragma once

#include "core/config.h"
#include "core/json.h"
#include "core/task_request.h"
#include "runner/sandbox/sandbox.h"
#include "runner/task_control.h"

#include <string>
#include <string_view>
#include <vector>

namespace tr::runner {

struct Artifact {
    std::string path; // as the task named it, relative to the working directory when inside it
    long long size = 0;
};

struct ToolContext {
    const TaskContext &task;
    const ToolsConfig &config;
    const Sandbox &sandbox;
    const TaskControl &control;
    std::vector<Artifact> &artifacts; // files written so far
    long long &bytes_written;         // by write_file, so far
};

struct ToolResult {
    bool ok = true;
    std::string output; // what the model (and the step's output) sees
    std::string error;  // why it failed, when !ok
    JsonPtr data;       // facts for the builtin planner and metrics: sizes, exit code...
};

using ToolFunction = ToolResult (*)(const json_t *arguments, ToolContext &context);

ToolResult read_file(const json_t *arguments, ToolContext &context);
ToolResult write_file(const json_t *arguments, ToolContext &context);
ToolResult list_files(const json_t *arguments, ToolContext &context);
ToolResult run_command_tool(const json_t *arguments, ToolContext &context);

// Runs a tool by name: refuses tools outside the task's set, checks the arguments against the
// tool's schema, and turns Error into a failed ToolResult. Throws only TaskStopped.
ToolResult execute_tool(std::string_view name, const json_t *arguments, ToolContext &context);

// Refuses (Error(InvalidRequest)) a resolved path the service protects (core/protected_paths.h):
// secret ones for any access, read-only ones too when `writing`.
void refuse_protected(const std::string &resolved, const std::string &requested,
                      const ToolContext &context, bool writing);
// The same for an opened file, by inode: a hard link to a secret file under another name.
void refuse_protected_file(int fd, const std::string &requested, const ToolContext &context);

// The path as the task should see it: relative to the working directory when inside it.
std::string display_path(const std::string &resolved, const std::string &working_directory);

} // namespace tr::runner
