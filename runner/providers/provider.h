// The one interface between the agent loop and whatever decides what to do: a provider plans
// a task, then, turn by turn, reads the conversation so far and answers with tool calls or a
// final answer. The builtin planner and the model-backed provider (llm.cpp, which speaks a wire
// format through model_client.cpp) both implement it.
#pragma once

#include "core/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/model.h"
#include "core/task_request.h"
#include "core/tool_catalog.h"
#include "runner/recorder.h"
#include "runner/task_control.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr {
class Db;
}

namespace tr::runner {

class ModelClient;

struct ToolCall {
    std::string id; // the provider's id for matching the result to the call
    std::string name;
    JsonPtr arguments;          // an object, or null when argument_error says why not
    std::string argument_error; // the model sent arguments that are not a JSON object

    // Another handle on the same call (the arguments are shared, not copied).
    ToolCall share() const {
        return {id, name, arguments ? json_share(arguments.get()) : nullptr, argument_error};
    }
};

enum class Role { User, Assistant, Tool };

struct Message {
    Role role = Role::User;
    std::string content;              // text; for tool results, what the tool returned
    std::vector<ToolCall> tool_calls; // assistant turns that call tools
    std::string tool_call_id;         // tool results: which call this answers
    std::string tool_name;
    bool is_error = false; // tool results: the call failed
    JsonPtr data;          // tool results: the tool's facts (never sent to a model)

    static Message user(std::string text) {
        Message message;
        message.content = std::move(text);
        return message;
    }
    static Message assistant(std::string text, std::vector<ToolCall> calls = {}) {
        Message message;
        message.role = Role::Assistant;
        message.content = std::move(text);
        message.tool_calls = std::move(calls);
        return message;
    }
    // What a tool call returned (or, with is_error, why it failed), for the call with this id.
    static Message tool_result(const ToolCall &call, std::string content, bool is_error,
                               JsonPtr data = nullptr) {
        Message message;
        message.role = Role::Tool;
        message.content = std::move(content);
        message.tool_call_id = call.id;
        message.tool_name = call.name;
        message.is_error = is_error;
        message.data = std::move(data);
        return message;
    }
};

struct FinalAnswer {
    bool success = true;
    std::string summary;
    std::string details;
    std::string error_code; // when !success; empty means TASK_FAILED
};

struct Turn {
    std::string text; // what the model said alongside its tool calls
    std::vector<ToolCall> tool_calls;
    std::optional<FinalAnswer> final; // set: the task is done
    TokenUsage usage;
};

struct PlanResult {
    JsonPtr plan; // TaskPlan: understanding, approach, complexity, estimated_steps, requirements
    TokenUsage usage;
};

// What a task allows, for the model's instructions and the budget of each call.
struct TaskLimits {
    const std::string &task_id;
    const TaskContext &context;
    const ToolsConfig &tools;
    long long tokens_left = 0; // of the task's token budget
};

// Called when a model call failed and will be retried after `delay`, so the loop can record
// the failed attempt as its own step before the wait.
using RetryObserver =
    std::function<void(const std::string &error, std::chrono::milliseconds delay)>;

class Provider {
public:
    virtual ~Provider() = default;

    virtual std::string name() const = 0;
    virtual std::string model() const = 0;
    // Whether turns are model calls (recorded as steps, counted, billed in tokens).
    virtual bool calls_a_model() const = 0;

    // Throws TaskFailure when the task cannot be planned, TaskStopped when told to stop.
    virtual PlanResult plan(const std::string &task, const std::vector<const ToolInfo *> &tools,
                            const TaskLimits &limits, const TaskControl &control,
                            const RetryObserver &on_retry) = 0;
    virtual Turn next_turn(const std::vector<Message> &conversation,
                           const std::vector<const ToolInfo *> &tools, const TaskLimits &limits,
                           const TaskControl &control, const RetryObserver &on_retry) = 0;
};

// What a model-backed provider needs from its worker.
struct ProviderResources {
    ModelClient &client; // the worker's connection, reused call after call
    Db &db;              // the worker's connection, for the shared rate-limit backoff
    const Log &log;
    const ExecutionConfig &execution; // retries and their delay
};

// A fresh provider for one task; `resources` must outlive it.
std::unique_ptr<Provider> make_provider(const ResolvedModel &model,
                                        const ProviderResources &resources);

} // namespace tr::runner
