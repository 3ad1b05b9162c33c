// The one interface between the agent loop and whatever decides what to do: a provider plans
// a task, then, turn by turn, reads the conversation so far and answers with tool calls or a
// final answer. A new provider is one new file implementing it.
#pragma once

#include "core/config.h"
#include "core/json.h"
#include "core/tool_catalog.h"
#include "runner/recorder.h"
#include "runner/task_control.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr::runner {

struct ToolCall {
    std::string id; // the provider's id for matching the result to the call
    std::string name;
    JsonPtr arguments; // an object
};

enum class Role { System, User, Assistant, Tool };

struct Message {
    Role role = Role::User;
    std::string content;
    std::vector<ToolCall> tool_calls; // assistant turns that call tools
    std::string tool_call_id;         // tool results: which call this answers
    std::string tool_name;
    bool is_error = false; // tool results: the call failed
    JsonPtr data;          // tool results: the tool's facts (not sent to models)
};

struct FinalAnswer {
    bool success = true;
    std::string summary;
    std::string details;
    std::string error_code; // when !success; empty means TASK_FAILED
};

struct Turn {
    std::vector<ToolCall> tool_calls;
    std::optional<FinalAnswer> final; // set: the task is done
    TokenUsage usage;
};

struct PlanResult {
    JsonPtr plan; // TaskPlan: understanding, approach, complexity, estimated_steps, requirements
    TokenUsage usage;
};

class Provider {
public:
    virtual ~Provider() = default;

    virtual std::string name() const = 0;
    virtual std::string model() const = 0;
    // Whether turns are model calls (recorded as steps, counted, billed in tokens).
    virtual bool calls_a_model() const = 0;

    // Throws TaskFailure when the task cannot be planned.
    virtual PlanResult plan(const std::string &task, const std::vector<const ToolInfo *> &tools,
                            const TaskControl &control) = 0;
    virtual Turn next_turn(const std::vector<Message> &conversation,
                           const std::vector<const ToolInfo *> &tools,
                           const TaskControl &control) = 0;
};

// A fresh provider for one task. Throws Error for an unknown provider name.
std::unique_ptr<Provider> make_provider(const ModelConfig &config);

} // namespace tr::runner
