// run_command: one shell command in the task's working directory, sandboxed (command.cpp),
// with the shortest of the command's own, the server's and the task's remaining time.
#include "core/error.h"
#include "runner/sandbox/command.h"
#include "runner/task_failure.h"
#include "runner/tools/tool.h"

#include <algorithm>
#include <cctype>

namespace tr::runner {
namespace {

// Whitespace collapsed and lower-cased, so "RM  -rf" still matches "rm -rf". This is a guard
// against accidents, not the security boundary; the sandbox is.
std::string normalized(const std::string &command) {
    std::string out;
    bool space = false;
    for (const char c : command) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string section(const char *name, const CapturedStream &stream, std::size_t cap) {
    std::string text = std::string(name) + ":\n" + to_valid_utf8(stream.text);
    if (!stream.text.empty() && stream.text.back() != '\n')
        text += '\n';
    if (stream.truncated)
        text += "[" + std::string(name) + " truncated: " + std::to_string(stream.total_bytes) +
                " bytes in all, the first " + std::to_string(cap) + " shown]\n";
    return text;
}

} // namespace

ToolResult run_command_tool(const json_t *arguments, ToolContext &context) {
    const std::string command = json_string_value(json_object_get(arguments, "command"));
    if (command.find_first_not_of(" \t\r\n") == std::string::npos)
        throw Error(ErrorCode::InvalidRequest, "command must not be empty");
    const std::string folded = normalized(command);
    for (const std::string &forbidden : context.config.forbidden_commands)
        if (!forbidden.empty() && folded.find(normalized(forbidden)) != std::string::npos)
            throw Error(ErrorCode::InvalidRequest, "refused: the command contains \"" + forbidden +
                                                       "\" (tools.forbidden_commands)");

    std::chrono::milliseconds timeout =
        std::chrono::seconds(context.config.command_timeout_seconds);
    if (const json_t *own = json_object_get(arguments, "timeout_seconds"))
        timeout = std::min<std::chrono::milliseconds>(
            timeout, std::chrono::seconds(json_integer_value(own)));

    CommandSpec spec;
    spec.command = command;
    spec.working_directory = context.task.working_directory;
    spec.readable_paths = context.task.allowed_paths;
    spec.writable_paths = context.task.writable_paths;
    spec.environment = context.task.environment;
    spec.timeout = timeout;
    spec.max_output_bytes = static_cast<std::size_t>(context.config.max_output_bytes);

    const CommandResult run = run_command(spec, context.sandbox, context.control);
    if (run.stopped)
        throw TaskStopped("stopped while running: " + command);

    ToolResult result;
    const std::size_t cap = spec.max_output_bytes;
    const std::string timeout_text = std::to_string(timeout.count() / 1000) + "." +
                                     std::to_string(timeout.count() % 1000 / 100) + " s";
    result.output =
        (run.timed_out ? "timed out after " + timeout_text + ", killed" : run.status.describe()) +
        "\n" + section("stdout", run.out, cap) + section("stderr", run.err, cap);
    for (const std::string &limit : run.limits_reached)
        result.output += "reached " + limit + "\n";
    const std::string out = to_valid_utf8(run.out.text);
    const std::string err = to_valid_utf8(run.err.text);
    result.data.reset(
        json_pack("{s:s,s:o,s:o,s:s%,s:s%,s:b,s:I}", "command", command.c_str(), "exit_code",
                  run.status.exited() ? json_integer(run.status.code) : json_null(), "signal",
                  run.status.signal ? json_integer(run.status.signal) : json_null(), "stdout",
                  out.c_str(), out.size(), "stderr", err.c_str(), err.size(), "timed_out",
                  run.timed_out, "duration_ms", static_cast<json_int_t>(run.duration_ms)));
    if (run.timed_out) {
        result.ok = false;
        result.error =
            "`" + command + "` did not finish within " + timeout_text + " and was killed";
    } else if (!run.status.exited() || run.status.code != 0) {
        result.ok = false;
        result.error = "`" + command + "` ended with " + run.status.describe();
        for (const std::string &limit : run.limits_reached)
            result.error += "; it reached " + limit;
    }
    return result;
}

} // namespace tr::runner
