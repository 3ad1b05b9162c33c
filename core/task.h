// The task model's vocabulary: states, priorities, step types, and the error codes a finished
// task can carry. Names are the original's, so its clients keep working (SPEC.md §2).
#pragma once

#include <optional>
#include <string_view>

namespace tr {

enum class TaskStatus { Queued, Running, Completed, Failed, Cancelled, Timeout };
enum class Priority { Low, Normal, High, Critical };
enum class StepType { Planning, ToolUse, Analysis, Completion };
enum class StepStatus { Running, Completed, Failed, Skipped, Interrupted };

const char *to_string(TaskStatus status) noexcept;
const char *to_string(Priority priority) noexcept;
const char *to_string(StepType type) noexcept;
const char *to_string(StepStatus status) noexcept;

std::optional<TaskStatus> parse_task_status(std::string_view text) noexcept;
std::optional<Priority> parse_priority(std::string_view text) noexcept;

bool is_terminal(TaskStatus status) noexcept;

// Why a task ended without completing; stored in tasks.error_code.
namespace task_error {
inline constexpr const char *invalid_context = "INVALID_CONTEXT"; // context no longer valid here
inline constexpr const char *planning_failed = "PLANNING_FAILED"; // the task was not understood
inline constexpr const char *tool_failed = "TOOL_FAILED";         // a tool call failed
inline constexpr const char *task_failed = "TASK_FAILED";         // the agent reported failure
inline constexpr const char *timeout = "TIMEOUT";                 // the wall-clock limit passed
inline constexpr const char *cancelled = "CANCELLED";
inline constexpr const char *max_steps_exceeded = "MAX_STEPS_EXCEEDED";
inline constexpr const char *token_budget_exceeded = "TOKEN_BUDGET_EXCEEDED";
inline constexpr const char *model_error = "MODEL_ERROR";
inline constexpr const char *runner_lost = "RUNNER_LOST"; // its runner died too often
inline constexpr const char *internal_error = "INTERNAL_ERROR";
} // namespace task_error

} // namespace tr
