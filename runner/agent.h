// The agent: plans a claimed task with its provider, then drives the tool-calling loop until the
// provider gives a final answer, each model call and tool call a step recorded as it happens.
//
// It ends by returning the provider's final answer, or by throwing: TaskFailure (a task error:
// budgets, planning), TaskStopped (its TaskControl said stop), LeaseLost (the attempt no longer
// holds the task: nothing more may be written), or anything else (an internal error). The task
// boundary (run_task.cpp) turns each into the task's stored end.
#pragma once

#include "core/json.h"
#include "core/model.h"
#include "core/task_request.h"
#include "core/tool_catalog.h"
#include "runner/claim.h"
#include "runner/environment.h"
#include "runner/providers/provider.h"
#include "runner/recorder.h"
#include "runner/task_control.h"
#include "runner/tools/tool.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tr::runner {

// What an agent works with; all of it outlives the agent.
struct AgentSetup {
    const RunnerEnvironment &environment;
    const ClaimedTask &task;
    const TaskContext &context;
    const ResolvedModel &model;
    const ProviderResources &resources;
    TaskControl &control;
    TaskRecorder &recorder;
};

class Agent {
public:
    explicit Agent(const AgentSetup &setup);

    FinalAnswer run();

    // The task's metrics so far (also after a failure): times, tool calls, model calls, tokens.
    JsonPtr metrics(double total_seconds) const;
    const std::vector<Artifact> &artifacts() const { return artifacts_; }

private:
    TaskLimits limits() const;
    std::string task_for_the_model() const;
    void plan();
    FinalAnswer execute();
    Turn next_turn();
    Message call_tool(const ToolCall &call);
    ToolResult execute_call(const ToolCall &call, TaskRecorder::Step &step);
    JsonPtr call_input(const char *forced_tool) const;
    std::string interruption_text(const std::exception &e) const;
    void check_stop() const;
    void count_model_call(const TokenUsage &usage);
    void check_token_budget() const;

    const RunnerEnvironment &environment_;
    const ClaimedTask &task_;
    const TaskContext &context_;
    TaskControl &control_;
    TaskRecorder &recorder_;
    std::unique_ptr<Provider> provider_;
    std::vector<const ToolInfo *> tools_;
    std::vector<Message> conversation_;
    std::vector<Artifact> artifacts_;
    long long bytes_written_ = 0;
    struct ToolUsage {
        int calls = 0;
        long long milliseconds = 0; // of the calls that finished
    };
    std::map<std::string, ToolUsage> tool_usage_;
    int tool_call_count_ = 0;
    int model_calls_ = 0;
    TokenUsage tokens_;
    long long planning_ms_ = 0;
    long long execution_ms_ = 0;
};

// Why a stopped task stopped, as its open step says.
std::string stop_text(std::optional<StopReason> reason);

} // namespace tr::runner
