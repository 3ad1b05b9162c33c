// The agent loop: plan, then turns of model (or builtin) decisions and tool calls.
#include "runner/agent.h"

#include "core/task.h"
#include "core/time.h"
#include "runner/task_failure.h"

namespace tr::runner {
namespace {

// "read_file README.md", "run_command: make test": what a step's description says.
std::string describe_call(const ToolCall &call) {
    for (const char *key : {"path", "command"}) {
        const json_t *value = json_object_get(call.arguments.get(), key);
        if (!json_is_string(value))
            continue;
        std::string argument = json_string_value(value);
        if (argument.size() > 200)
            argument = argument.substr(0, 200) + "...";
        return call.name + (std::string(key) == "command" ? ": " : " ") + argument;
    }
    return call.name;
}

// What a model call's step shows as its output: the text and the calls it asked for.
std::string describe_turn(const Turn &turn) {
    std::string text = turn.final ? turn.final->summary : turn.text;
    for (const ToolCall &call : turn.tool_calls)
        text += (text.empty() ? "" : "\n") + std::string("-> ") + describe_call(call);
    return text;
}

// A step cut short by a shutdown or a lost lease did not fail: its attempt was interrupted, and
// the task runs again.
StepStatus interruption_status(std::optional<StopReason> reason) {
    return reason == StopReason::Shutdown || reason == StopReason::LeaseLost
               ? StepStatus::Interrupted
               : StepStatus::Failed;
}

// One model call as steps: a step per attempt, so each retry is visible as it happens.
class ModelCallSteps {
public:
    ModelCallSteps(TaskRecorder &recorder, StepType type, std::string description, JsonPtr input)
        : recorder_(recorder), type_(type), description_(std::move(description)),
          input_(std::move(input)) {
        open();
    }

    // The observer the provider calls before waiting to retry.
    RetryObserver observer() {
        return [this](const std::string &error, std::chrono::milliseconds) {
            step_->end(StepEnd::failed(error));
            ++attempt_;
            open();
        };
    }

    void succeed(const std::string &output, const TokenUsage &usage) {
        step_->end(StepEnd::completed(output, usage));
    }

    void interrupt(const std::string &why, StepStatus status) {
        step_->set_interruption(why, status);
    }

private:
    void open() {
        const std::string description =
            attempt_ == 1 ? description_
                          : description_ + " (attempt " + std::to_string(attempt_) + ")";
        step_.reset();
        step_.emplace(recorder_.begin_step(type_, description, "", input_.get()));
    }

    TaskRecorder &recorder_;
    StepType type_;
    std::string description_;
    JsonPtr input_;
    int attempt_ = 1;
    std::optional<TaskRecorder::Step> step_;
};

// What the next attempt of a model-driven task is told about the tool calls of the attempts
// before it, which were cut short: they may or may not have taken effect.
std::string earlier_attempts_note(const std::vector<EarlierCall> &calls) {
    if (calls.empty())
        return "";
    std::string note =
        "\n\nNote: an earlier attempt at this task was interrupted (its runner stopped or lost "
        "the task) and this is a new attempt. These tool calls had already been started; they may "
        "or may not have taken effect, so check the current state before repeating one:";
    for (const EarlierCall &call : calls)
        note += "\n- attempt " + std::to_string(call.attempt) + ": " + call.description + " (" +
                call.status + ")";
    return note;
}

} // namespace

std::string stop_text(std::optional<StopReason> reason) {
    if (reason == StopReason::Cancelled)
        return "cancelled";
    if (reason == StopReason::Shutdown)
        return "interrupted by a runner shutdown; the task will run again";
    if (reason == StopReason::LeaseLost)
        return "interrupted: this attempt lost the task's lease";
    return "the task's time limit was reached";
}

Agent::Agent(const AgentSetup &setup)
    : environment_(setup.environment), task_(setup.task), context_(setup.context),
      control_(setup.control), recorder_(setup.recorder),
      provider_(make_provider(setup.model, setup.resources)) {
    for (const std::string &name : context_.tools)
        if (const ToolInfo *tool = find_tool(name))
            tools_.push_back(tool);
    recorder_.record_model(provider_->name(), provider_->model());
}

FinalAnswer Agent::run() {
    const SteadyClock::time_point planning_started = SteadyClock::now();
    plan();
    planning_ms_ = elapsed_ms(planning_started);
    const SteadyClock::time_point execution_started = SteadyClock::now();
    FinalAnswer answer = execute();
    execution_ms_ = elapsed_ms(execution_started);
    TaskRecorder::Step completion =
        recorder_.begin_step(StepType::Completion, "Report the result", "", nullptr);
    completion.end(answer.success ? StepEnd::completed(answer.summary)
                                  : StepEnd::failed(answer.summary, answer.summary));
    return answer;
}

// The original's TaskMetrics: tools_used counts the tool calls made and tokens_used the tokens
// in and out, both numbers; the names (tool_names) and the split (tokens) come beside them.
JsonPtr Agent::metrics(double total_seconds) const {
    JsonPtr tool_names(json_array());
    JsonPtr tool_calls(json_object());
    JsonPtr tool_time(json_object());
    for (const auto &[name, usage] : tool_usage_) {
        json_array_append_new(tool_names.get(), json_string(name.c_str()));
        json_object_set_new(tool_calls.get(), name.c_str(), json_integer(usage.calls));
        json_object_set_new(tool_time.get(), name.c_str(), json_integer(usage.milliseconds));
    }
    const auto total_tokens = static_cast<json_int_t>(tokens_.input + tokens_.output);
    return JsonPtr(json_pack(
        "{s:f,s:I,s:I,s:i,s:i,s:O,s:O,s:O,s:i,s:I,s:{s:I,s:I,s:I}}", "total_execution_time",
        total_seconds, "planning_time_ms", static_cast<json_int_t>(planning_ms_),
        "execution_time_ms", static_cast<json_int_t>(execution_ms_), "steps_executed",
        tool_call_count_, "tools_used", tool_call_count_, "tool_names", tool_names.get(),
        "tool_calls", tool_calls.get(), "tool_time_ms", tool_time.get(), "model_calls",
        model_calls_, "tokens_used", total_tokens, "tokens", "input",
        static_cast<json_int_t>(tokens_.input), "output", static_cast<json_int_t>(tokens_.output),
        "total", total_tokens));
}

TaskLimits Agent::limits() const {
    return {task_.id, context_, environment_.config.tools,
            context_.max_tokens - (tokens_.input + tokens_.output)};
}

// The task as a model reads it: on a later attempt, with the earlier attempts' tool calls.
// The builtin planner reads the task's own words only.
std::string Agent::task_for_the_model() const {
    if (task_.attempt <= 1 || !provider_->calls_a_model())
        return task_.task;
    return task_.task + earlier_attempts_note(recorder_.earlier_calls());
}

void Agent::plan() {
    const std::string task = task_for_the_model();
    PlanResult plan;
    if (!provider_->calls_a_model()) {
        TaskRecorder::Step step = recorder_.begin_step(
            StepType::Planning, "Understand the task and make a plan", "", nullptr);
        try {
            plan = provider_->plan(task, tools_, limits(), control_, nullptr);
        } catch (const TaskFailure &failure) {
            step.set_interruption(failure.what());
            throw;
        }
        step.end(StepEnd::completed(dump_json(plan.plan.get())));
    } else {
        ModelCallSteps steps(recorder_, StepType::Planning,
                             "Plan the task with " + provider_->name(), call_input("submit_plan"));
        try {
            plan = provider_->plan(task, tools_, limits(), control_, steps.observer());
        } catch (const std::exception &e) {
            steps.interrupt(interruption_text(e), interruption_status(control_.stop_reason()));
            throw;
        }
        count_model_call(plan.usage);
        steps.succeed(dump_json(plan.plan.get()), plan.usage);
        check_token_budget();
    }
    recorder_.record_plan(plan.plan.get());
    conversation_.push_back(Message::user(task));
}

FinalAnswer Agent::execute() {
    for (;;) {
        check_stop();
        Turn turn = next_turn();
        if (turn.final)
            return *turn.final;
        std::vector<ToolCall> calls;
        for (const ToolCall &call : turn.tool_calls)
            calls.push_back(call.share());
        conversation_.push_back(Message::assistant(turn.text, std::move(calls)));
        for (const ToolCall &call : turn.tool_calls)
            conversation_.push_back(call_tool(call));
    }
}

Turn Agent::next_turn() {
    if (!provider_->calls_a_model())
        return provider_->next_turn(conversation_, tools_, limits(), control_, nullptr);
    ModelCallSteps steps(recorder_, StepType::Analysis,
                         "Model call " + std::to_string(model_calls_ + 1) + " to " +
                             provider_->name(),
                         call_input(""));
    Turn turn;
    try {
        turn = provider_->next_turn(conversation_, tools_, limits(), control_, steps.observer());
    } catch (const std::exception &e) {
        steps.interrupt(interruption_text(e), interruption_status(control_.stop_reason()));
        throw;
    }
    count_model_call(turn.usage);
    steps.succeed(describe_turn(turn), turn.usage);
    check_token_budget();
    return turn;
}

Message Agent::call_tool(const ToolCall &call) {
    // The budget is the runner's, not the model's: the call past max_steps is never made.
    if (tool_call_count_ >= context_.max_steps)
        throw TaskFailure(task_error::max_steps_exceeded,
                          "the task needed more than " + std::to_string(context_.max_steps) +
                              " tool calls (max_steps); the work done so far is in its steps");
    check_stop();
    ++tool_call_count_;
    ToolUsage &usage = tool_usage_[call.name];
    ++usage.calls;
    const SteadyClock::time_point started = SteadyClock::now();
    TaskRecorder::Step step = recorder_.begin_step(StepType::ToolUse, describe_call(call),
                                                   call.name, call.arguments.get());
    ToolResult result = execute_call(call, step);
    usage.milliseconds += elapsed_ms(started);
    step.end(result.ok ? StepEnd::completed(result.output)
                       : StepEnd::failed(result.error, result.output));
    std::string content = result.ok ? result.output : result.error;
    if (!result.ok && !result.output.empty())
        content += "\n" + result.output;
    return Message::tool_result(call, std::move(content), !result.ok, std::move(result.data));
}

ToolResult Agent::execute_call(const ToolCall &call, TaskRecorder::Step &step) {
    if (!call.argument_error.empty()) {
        ToolResult refused; // not run: the model can correct the arguments and call again
        refused.ok = false;
        refused.error = call.name + ": " + call.argument_error;
        return refused;
    }
    ToolContext tool_context{
        context_,      environment_.config.tools, environment_.sandbox, control_, artifacts_,
        bytes_written_};
    try {
        return execute_tool(call.name, call.arguments.get(), tool_context);
    } catch (const TaskStopped &) {
        const std::optional<StopReason> reason = control_.stop_reason();
        step.set_interruption(stop_text(reason), interruption_status(reason));
        throw;
    }
}

// A model call step's input: what was sent, in brief (the whole history would repeat every
// earlier step).
JsonPtr Agent::call_input(const char *forced_tool) const {
    JsonPtr tools(json_array());
    for (const ToolInfo *tool : tools_)
        json_array_append_new(tools.get(), json_string(tool->name));
    JsonPtr input(json_pack("{s:s,s:i,s:O}", "model", provider_->model().c_str(), "messages",
                            static_cast<int>(conversation_.size()), "tools", tools.get()));
    if (*forced_tool)
        json_object_set_new(input.get(), "forced_tool", json_string(forced_tool));
    return input;
}

std::string Agent::interruption_text(const std::exception &e) const {
    if (dynamic_cast<const TaskStopped *>(&e))
        return stop_text(control_.stop_reason());
    return e.what();
}

void Agent::check_stop() const {
    if (const std::optional<StopReason> reason = control_.stop_reason())
        throw TaskStopped(stop_text(reason));
}

void Agent::count_model_call(const TokenUsage &usage) {
    ++model_calls_;
    tokens_.input += usage.input;
    tokens_.output += usage.output;
}

void Agent::check_token_budget() const {
    const long long used = tokens_.input + tokens_.output;
    if (used > context_.max_tokens)
        throw TaskFailure(
            task_error::token_budget_exceeded,
            "the model calls used " + std::to_string(used) + " tokens, over the task's budget of " +
                std::to_string(context_.max_tokens) + "; the work done so far is in its steps");
}

} // namespace tr::runner
