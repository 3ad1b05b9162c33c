// Names of the task model's enumerations, as stored and served.
#include "core/task.h"

namespace tr {
namespace {

constexpr const char *status_names[] = {"queued", "running",   "completed",
                                        "failed", "cancelled", "timeout"};
constexpr const char *priority_names[] = {"low", "normal", "high", "critical"};
constexpr const char *step_type_names[] = {"planning", "tool_use", "analysis", "completion"};
constexpr const char *step_status_names[] = {"running", "completed", "failed", "skipped",
                                             "interrupted"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const char *const (&names)[N], std::string_view text) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (text == names[i])
            return static_cast<Enum>(i);
    return std::nullopt;
}

} // namespace

const char *to_string(TaskStatus status) noexcept {
    return status_names[static_cast<int>(status)];
}
const char *to_string(Priority priority) noexcept {
    return priority_names[static_cast<int>(priority)];
}
const char *to_string(StepType type) noexcept {
    return step_type_names[static_cast<int>(type)];
}
const char *to_string(StepStatus status) noexcept {
    return step_status_names[static_cast<int>(status)];
}

std::optional<TaskStatus> parse_task_status(std::string_view text) noexcept {
    return parse_name<TaskStatus>(status_names, text);
}

std::optional<Priority> parse_priority(std::string_view text) noexcept {
    return parse_name<Priority>(priority_names, text);
}

bool is_terminal(TaskStatus status) noexcept {
    return status != TaskStatus::Queued && status != TaskStatus::Running;
}

} // namespace tr
