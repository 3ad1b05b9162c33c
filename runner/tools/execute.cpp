// Dispatching a tool call: the task's allowed set, the schema check, then the tool itself.
#include "core/error.h"
#include "core/paths.h"
#include "core/tool_catalog.h"
#include "runner/tools/arguments.h"
#include "runner/tools/tool.h"

#include <algorithm>

namespace tr::runner {
namespace {

struct ToolImplementation {
    const char *name;
    ToolFunction execute;
};

constexpr ToolImplementation implementations[] = {
    {"read_file", read_file},
    {"write_file", write_file},
    {"list_files", list_files},
    {"run_command", run_command_tool},
};

ToolResult failed(std::string error) {
    ToolResult result;
    result.ok = false;
    result.error = std::move(error);
    return result;
}

} // namespace

ToolResult execute_tool(std::string_view name, const json_t *arguments, ToolContext &context) {
    const ToolInfo *info = find_tool(name);
    const auto implementation =
        std::find_if(std::begin(implementations), std::end(implementations),
                     [name](const ToolImplementation &tool) { return name == tool.name; });
    if (!info || implementation == std::end(implementations))
        return failed("unknown tool \"" + std::string(name) + "\" (tools: " + tool_names_text() +
                      ")");
    const std::vector<std::string> &allowed = context.task.tools;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
        return failed(std::string(name) + " is not available to this task");
    const JsonPtr schema = tool_parameters(*info);
    if (const std::optional<std::string> problem = check_arguments(schema.get(), arguments))
        return failed(std::string(name) + ": " + *problem);
    try {
        return implementation->execute(arguments, context);
    } catch (const Error &e) {
        return failed(std::string(name) + ": " + e.what());
    }
}

void refuse_protected(const std::string &resolved, const std::string &requested,
                      const ToolContext &context, bool writing) {
    const ProtectedPaths &paths = context.sandbox.protected_paths();
    if (paths.is_secret(resolved))
        throw Error(ErrorCode::InvalidRequest,
                    "path \"" + requested +
                        "\" is the service's own (its database, configuration or run directory); "
                        "tasks can never reach it");
    if (writing && paths.is_read_only(resolved))
        throw Error(ErrorCode::InvalidRequest,
                    "path \"" + requested +
                        "\" is read-only for every task (a .git directory or the service's "
                        "programs)");
}

void refuse_protected_file(int fd, const std::string &requested, const ToolContext &context) {
    if (context.sandbox.protected_paths().is_secret_file(fd))
        throw Error(ErrorCode::InvalidRequest,
                    "path \"" + requested +
                        "\" is another name of the service's own files; tasks can never reach it");
}

std::string display_path(const std::string &resolved, const std::string &working_directory) {
    if (resolved == working_directory)
        return ".";
    if (is_within(resolved, working_directory))
        return resolved.substr(working_directory == "/" ? 1 : working_directory.size() + 1);
    return resolved;
}

} // namespace tr::runner
