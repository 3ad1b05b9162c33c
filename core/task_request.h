// The body of POST /api/v1/tasks (SPEC.md §3), validated completely before anything is written:
// every rejection names the field, the value and what is allowed.
#pragma once

#include "core/config.h"
#include "core/json.h"
#include "core/task.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tr {

inline constexpr std::size_t max_task_text_bytes = std::size_t{32} * 1024;
inline constexpr std::size_t max_task_id_length = 128;
inline constexpr std::size_t max_metadata_bytes = std::size_t{64} * 1024;
inline constexpr std::size_t max_environment_entries = 64;
inline constexpr std::size_t max_environment_value_bytes = 4096;

// context: what the runner needs, with every path resolved and every limit within the server's.
struct TaskContext {
    std::string working_directory;                                // resolved, absolute
    std::vector<std::string> allowed_paths;                       // readable roots, resolved
    std::vector<std::string> writable_paths;                      // writable roots (also readable)
    std::vector<std::pair<std::string, std::string>> environment; // extra variables for commands
    std::vector<std::string> tools;                               // the allowed tool names
    int timeout_seconds = 0;
    int max_steps = 0;
    int max_tokens = 0; // input + output tokens of all model calls
};

struct TaskRequest {
    std::optional<std::string> task_id;
    std::string task;
    Priority priority = Priority::Normal;
    JsonPtr metadata; // an object, or null
    JsonPtr context;  // the validated context object as given, or null; stored for the runner
    std::optional<std::string> callback_url; // checked (core/callback_url.h), stored as given
};

// body's "callback_url", checked against config.webhooks; nullopt when absent or null. Throws
// Error(InvalidRequest). (A batch's own callback_url is read the same way.)
std::optional<std::string> parse_callback_field(const json_t *body, const Config &config);

// Throws Error(InvalidRequest) on the first problem found. `owner` is the submitting key's
// owner (empty without authentication): its workspace is where the task's paths resolve.
TaskRequest parse_task_request(const json_t *body, const Config &config, std::string_view owner);

// Interprets a stored (or just received) context against the server's configuration. The
// runner calls this again at claim time, so a task never runs with limits wider than the
// configuration it runs under. Throws Error(InvalidRequest).
//
// With service.require_api_key and an owner, the task works in <workspace_root>/<owner>/
// (created here on first use): it may read and write that directory and the owner's
// tools.shared_directories, plus those allowed (and writable) paths that neither contain nor
// lie inside the workspace root, so no owner reaches another's workspace.
TaskContext resolve_task_context(const json_t *context, const Config &config,
                                 std::string_view owner);

// <workspace_root>/<owner>, not resolved and not created.
std::string owner_workspace(const Config &config, std::string_view owner);

} // namespace tr
