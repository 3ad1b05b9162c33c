// Validation of task requests. Strict on purpose: an unknown field is refused rather than
// ignored, because a misspelt "prority" would otherwise silently run the task at the default.
#include "core/task_request.h"

#include "core/callback_url.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/strings.h"
#include "core/tool_catalog.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <initializer_list>

namespace tr {
namespace {

[[noreturn]] void reject(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

std::string got(const json_t *value) {
    if (!value)
        return "(got nothing)";
    if (json_is_string(value)) {
        std::string text(json_string_value(value),
                         std::min<std::size_t>(json_string_length(value), 80));
        return "(got \"" + text + (json_string_length(value) > 80 ? "...\")" : "\")");
    }
    if (json_is_integer(value))
        return "(got " + std::to_string(json_integer_value(value)) + ")";
    return std::string("(got ") + json_type_name(value) + ")";
}

void reject_unknown_fields(const json_t *object, const std::string &scope,
                           std::initializer_list<const char *> known) {
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(object), key, value) {
        if (std::any_of(known.begin(), known.end(),
                        [key](const char *name) { return std::string_view(key) == name; }))
            continue;
        std::string names;
        for (const char *name : known)
            names += (names.empty() ? "" : ", ") + std::string(name);
        const std::string field = scope.empty() ? std::string(key) : scope + "." + key;
        reject("unknown field \"" + field.substr(0, 120) + "\" (" +
               (scope.empty() ? std::string("a task request") : scope) + " accepts " + names + ")");
    }
}

std::string string_field(const json_t *value, const std::string &name) {
    if (!json_is_string(value))
        reject(name + " must be a string " + got(value));
    return std::string(json_string_value(value), json_string_length(value));
}

int integer_field(const json_t *value, const std::string &name, long long min, long long max,
                  const std::string &limit_note) {
    if (!json_is_integer(value) || json_integer_value(value) < min ||
        json_integer_value(value) > max)
        reject(name + " must be an integer " + std::to_string(min) + ".." + std::to_string(max) +
               limit_note + " " + got(value));
    return static_cast<int>(json_integer_value(value));
}

bool is_blank(const std::string &text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
}

bool is_valid_task_id(const std::string &id) {
    // "." and ".." would be path segments, not ids: /api/v1/tasks/.. is the task list's parent.
    if (id.empty() || id.size() > max_task_id_length ||
        id.find_first_not_of('.') == std::string::npos)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == ':';
    });
}

bool is_valid_variable_name(const std::string &name) {
    if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

std::vector<std::string> parse_tools(const json_t *value, const ToolsConfig &config) {
    if (!json_is_array(value))
        reject("context.tools must be an array of tool names " + got(value));
    std::vector<std::string> tools;
    std::size_t index;
    json_t *item;
    json_array_foreach(value, index, item) {
        const std::string name = string_field(item, "context.tools[" + std::to_string(index) + "]");
        const ToolInfo *tool = find_tool(name);
        if (!tool)
            reject("context.tools[" + std::to_string(index) + "] must be one of " +
                   tool_names_text() + " (got \"" + name + "\")");
        if (!tool_enabled(*tool, config))
            reject("context.tools[" + std::to_string(index) + "]: " + name +
                   " is disabled on this server (tools." +
                   (tool->kind == ToolKind::File ? "enable_file_operations"
                                                 : "enable_command_execution") +
                   " is false)");
        if (std::find(tools.begin(), tools.end(), name) == tools.end())
            tools.push_back(name);
    }
    return tools;
}

std::vector<std::pair<std::string, std::string>> parse_environment(const json_t *value) {
    if (!json_is_object(value))
        reject("context.environment must be an object of string values " + got(value));
    if (json_object_size(value) > max_environment_entries)
        reject("context.environment may hold at most " + std::to_string(max_environment_entries) +
               " variables (got " + std::to_string(json_object_size(value)) + ")");
    std::vector<std::pair<std::string, std::string>> environment;
    const char *key;
    json_t *item;
    json_object_foreach(const_cast<json_t *>(value), key, item) {
        const std::string name = key;
        if (!is_valid_variable_name(name))
            reject("context.environment: \"" + name.substr(0, 80) +
                   "\" is not a variable name (letters, digits and _, not starting with a digit)");
        // The dynamic loader reads LD_* before the command runs, so they are not the task's to set.
        if (name.compare(0, 3, "LD_") == 0)
            reject("context.environment: " + name + " may not be set (LD_* variables are refused)");
        const std::string text = string_field(item, "context.environment." + name);
        if (text.size() > max_environment_value_bytes)
            reject("context.environment." + name + " must be at most " +
                   std::to_string(max_environment_value_bytes) + " bytes");
        environment.emplace_back(name, text);
    }
    return environment;
}

// One of context.constraints.allowed_paths (`name`): an existing directory within the roots.
std::string parse_allowed_path(const json_t *item, const std::string &name, const std::string &base,
                               const std::vector<std::string> &server_roots) {
    const std::string path = string_field(item, name);
    std::string resolved;
    try {
        resolved = resolve_path(path, base, server_roots, MustExist::Yes);
    } catch (const Error &e) {
        reject(name + ": " + e.what());
    }
    // Outside the try: its catch would prefix the field name a second time.
    if (!real_directory(resolved))
        reject(name + " must be a directory (got \"" + path + "\")");
    return resolved;
}

std::vector<std::string> parse_allowed_paths(const json_t *value, const std::string &base,
                                             const std::vector<std::string> &server_roots) {
    if (!json_is_array(value) || json_array_size(value) == 0)
        reject("context.constraints.allowed_paths must be a non-empty array of directories " +
               got(value));
    std::vector<std::string> roots;
    std::size_t index;
    json_t *item;
    json_array_foreach(value, index, item) {
        roots.push_back(parse_allowed_path(
            item, "context.constraints.allowed_paths[" + std::to_string(index) + "]", base,
            server_roots));
    }
    return roots;
}

} // namespace

std::string owner_workspace(const Config &config, std::string_view owner) {
    const std::string &root = config.tools.workspace_root.empty() ? config.tools.working_directory
                                                                  : config.tools.workspace_root;
    return root + "/" + std::string(owner);
}

namespace {

// Roots without those already inside another (each path is checked against every root anyway).
std::vector<std::string> without_nested(const std::vector<std::string> &roots) {
    std::vector<std::string> kept;
    for (const std::string &root : roots)
        if (!is_within_any(root, kept)) {
            kept.erase(std::remove_if(kept.begin(), kept.end(),
                                      [&](const std::string &k) { return is_within(k, root); }),
                       kept.end());
            kept.push_back(root);
        }
    return kept;
}

// The parts of two sets of roots that both cover: how a narrowed read grant narrows writing.
std::vector<std::string> intersection(const std::vector<std::string> &a,
                                      const std::vector<std::string> &b) {
    std::vector<std::string> both;
    for (const std::string &x : a)
        if (is_within_any(x, b))
            both.push_back(x);
    for (const std::string &y : b)
        if (is_within_any(y, a))
            both.push_back(y);
    return without_nested(both);
}

// The grants of a task before its own constraints: the server's, or an owner's (see the header).
struct Grants {
    std::string base; // where relative paths start
    std::vector<std::string> readable;
    std::vector<std::string> writable;
};

Grants server_grants(const Config &config) {
    Grants grants;
    grants.base = config.tools.working_directory;
    grants.writable = resolve_roots(config.tools.writable_paths);
    grants.readable = resolve_roots(config.tools.allowed_paths);
    grants.readable.insert(grants.readable.end(), grants.writable.begin(), grants.writable.end());
    grants.readable = without_nested(grants.readable);
    return grants;
}

Grants owner_grants(const Config &config, std::string_view owner) {
    if (!is_owner_name(owner)) // keys are checked when they are made; this is the last word
        reject("the task's owner \"" + std::string(owner) + "\" cannot name a workspace");
    const std::string workspace = owner_workspace(config, owner);
    if (::mkdir(workspace.c_str(), 0755) != 0 && errno != EEXIST)
        throw Error(ErrorCode::InternalError,
                    system_error_text("mkdir " + workspace + " (the owner's workspace)", errno));
    const std::optional<std::string> own = real_directory(workspace);
    const std::optional<std::string> root = real_directory(parent_directory(workspace));
    if (!own || !root || parent_directory(*own) != *root)
        throw Error(ErrorCode::InternalError,
                    "the owner's workspace " + workspace + " is not a directory of its own");
    const Grants server = server_grants(config);
    const auto apart_from_workspaces = [&](const std::vector<std::string> &roots) {
        std::vector<std::string> kept{*own};
        for (const std::string &shared : config.tools.shared_directories)
            if (shared.compare(0, owner.size() + 1, std::string(owner) + ":") == 0)
                if (std::optional<std::string> real =
                        real_directory(shared.substr(owner.size() + 1)))
                    kept.push_back(*real);
        for (const std::string &path : roots)
            if (!is_within(path, *root) && !is_within(*root, path))
                kept.push_back(path);
        return without_nested(kept);
    };
    return {*own, apart_from_workspaces(server.readable), apart_from_workspaces(server.writable)};
}

} // namespace

namespace {

// What a task may do unless its context narrows it: the grants, the enabled tools, the limits.
TaskContext default_context(const Config &config, const Grants &grants) {
    TaskContext resolved;
    resolved.timeout_seconds = config.service.default_task_timeout;
    resolved.max_steps = config.execution.max_steps;
    resolved.max_tokens = config.execution.max_tokens_per_task;
    resolved.allowed_paths = grants.readable;
    resolved.writable_paths = grants.writable;
    for (const ToolInfo &tool : tool_catalog())
        if (tool_enabled(tool, config.tools))
            resolved.tools.emplace_back(tool.name);
    return resolved;
}

// context.constraints: each limit within the server's, the paths within the grants.
void apply_constraints(TaskContext &resolved, const json_t *constraints, const Config &config,
                       const Grants &grants) {
    if (!json_is_object(constraints))
        reject("context.constraints must be an object " + got(constraints));
    reject_unknown_fields(constraints, "context.constraints",
                          {"max_execution_time", "max_steps", "max_tokens", "allowed_paths"});
    const ExecutionConfig &execution = config.execution;
    if (const json_t *time = json_object_get(constraints, "max_execution_time"))
        resolved.timeout_seconds = integer_field(
            time, "context.constraints.max_execution_time", 1, execution.timeout_seconds,
            " seconds (this server's execution.timeout_seconds)");
    if (const json_t *steps = json_object_get(constraints, "max_steps"))
        resolved.max_steps =
            integer_field(steps, "context.constraints.max_steps", 1, execution.max_steps,
                          " (this server's execution.max_steps)");
    if (const json_t *tokens = json_object_get(constraints, "max_tokens"))
        resolved.max_tokens = integer_field(tokens, "context.constraints.max_tokens", 1,
                                            execution.max_tokens_per_task,
                                            " (this server's execution.max_tokens_per_task)");
    if (const json_t *paths = json_object_get(constraints, "allowed_paths")) {
        resolved.allowed_paths = parse_allowed_paths(paths, grants.base, grants.readable);
        resolved.writable_paths = intersection(resolved.writable_paths, resolved.allowed_paths);
    }
}

// context.working_directory (default: the grants' base), within the readable paths.
std::string working_directory(const json_t *context, const Grants &grants,
                              const std::vector<std::string> &readable) {
    const json_t *directory = context ? json_object_get(context, "working_directory") : nullptr;
    const std::string requested =
        directory ? string_field(directory, "context.working_directory") : ".";
    std::string resolved;
    try {
        resolved = resolve_path(requested, grants.base, readable, MustExist::Yes);
    } catch (const Error &e) {
        reject(std::string("context.working_directory: ") + e.what());
    }
    if (!real_directory(resolved))
        reject("context.working_directory must be a directory (got \"" + requested + "\")");
    return resolved;
}

} // namespace

TaskContext resolve_task_context(const json_t *context, const Config &config,
                                 std::string_view owner) {
    const Grants grants = config.service.require_api_key && !owner.empty()
                              ? owner_grants(config, owner)
                              : server_grants(config);
    TaskContext resolved = default_context(config, grants);
    if (context && !json_is_null(context)) {
        if (!json_is_object(context))
            reject("context must be an object " + got(context));
        reject_unknown_fields(context, "context",
                              {"working_directory", "environment", "tools", "constraints"});
        if (const json_t *tools = json_object_get(context, "tools"))
            resolved.tools = parse_tools(tools, config.tools);
        if (const json_t *environment = json_object_get(context, "environment"))
            resolved.environment = parse_environment(environment);
        if (const json_t *constraints = json_object_get(context, "constraints"))
            apply_constraints(resolved, constraints, config, grants);
    }
    resolved.working_directory = working_directory(context, grants, resolved.allowed_paths);
    return resolved;
}

std::optional<std::string> parse_callback_field(const json_t *body, const Config &config) {
    const json_t *value = json_object_get(body, "callback_url");
    if (!value || json_is_null(value))
        return std::nullopt;
    std::string url = string_field(value, "callback_url");
    check_callback_url(url, config.webhooks.allowed_hosts);
    return url;
}

TaskRequest parse_task_request(const json_t *body, const Config &config, std::string_view owner) {
    if (!json_is_object(body))
        reject(std::string("the request body must be a JSON object ") + got(body));
    reject_unknown_fields(body, "",
                          {"task", "task_id", "priority", "metadata", "context", "callback_url"});

    TaskRequest request;
    const json_t *task = json_object_get(body, "task");
    if (!task)
        reject("task is required: say what to do, e.g. {\"task\": \"list the files in .\"}");
    request.task = string_field(task, "task");
    if (is_blank(request.task))
        reject("task must not be empty");
    if (request.task.size() > max_task_text_bytes)
        reject("task must be at most " + std::to_string(max_task_text_bytes) + " bytes (got " +
               std::to_string(request.task.size()) + ")");

    if (const json_t *id = json_object_get(body, "task_id")) {
        const std::string text = string_field(id, "task_id");
        if (!is_valid_task_id(text))
            reject("task_id must be 1.." + std::to_string(max_task_id_length) +
                   " characters of A-Z a-z 0-9 - _ . :, not only dots " + got(id));
        // /api/v1/tasks/batch and /api/v1/tasks/cancel are endpoints, not tasks.
        if (text == "batch" || text == "cancel")
            reject("task_id \"" + text + "\" is reserved");
        request.task_id = text;
    }

    if (const json_t *priority = json_object_get(body, "priority")) {
        const std::string text = string_field(priority, "priority");
        const std::optional<Priority> parsed = parse_priority(text);
        if (!parsed)
            reject("priority must be one of low, normal, high, critical " + got(priority));
        request.priority = *parsed;
    }

    if (const json_t *metadata = json_object_get(body, "metadata");
        metadata && !json_is_null(metadata)) {
        if (!json_is_object(metadata))
            reject("metadata must be an object " + got(metadata));
        if (dump_json(metadata).size() > max_metadata_bytes)
            reject("metadata must be at most " + std::to_string(max_metadata_bytes) +
                   " bytes as JSON");
        request.metadata = json_share(const_cast<json_t *>(metadata));
    }

    if (const json_t *context = json_object_get(body, "context");
        context && !json_is_null(context)) {
        resolve_task_context(context, config, owner); // validates; the runner resolves it again
        request.context = json_share(const_cast<json_t *>(context));
    }
    request.callback_url = parse_callback_field(body, config);
    return request;
}

} // namespace tr
