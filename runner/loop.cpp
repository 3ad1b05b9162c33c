// The agent loop and the per-task boundary.
#include "runner/loop.h"

#include "core/error.h"
#include "core/model.h"
#include "core/task.h"
#include "core/task_request.h"
#include "core/tool_catalog.h"
#include "runner/providers/model_client.h"
#include "runner/providers/provider.h"
#include "runner/recorder.h"
#include "runner/task_failure.h"
#include "runner/tools/tool.h"

#include <map>

namespace tr::runner {
namespace {

using SteadyClock = std::chrono::steady_clock;

long long milliseconds_since(SteadyClock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - since)
        .count();
}

double seconds_since(SteadyClock::time_point since) {
    return milliseconds_since(since) / 1000.0;
}

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

// A step that is still open when an exception passes is closed as failed, so no step stays
// "running" after its task has ended.
class OpenStep {
public:
    OpenStep(TaskRecorder &recorder, int number) : recorder_(recorder), number_(number) {}
    OpenStep(const OpenStep &) = delete;
    OpenStep &operator=(const OpenStep &) = delete;
    ~OpenStep() {
        if (!ended_) {
            try {
                recorder_.end_step(number_, {StepStatus::Failed, "", interruption_, std::nullopt,
                                             milliseconds_since(started_)});
            } catch (...) {
                // The database failed too; lease recovery will mark the step failed later.
            }
        }
    }

    void end(StepEnd result) {
        result.execution_time_ms = milliseconds_since(started_);
        recorder_.end_step(number_, result);
        ended_ = true;
    }

    void set_interruption(std::string why) { interruption_ = std::move(why); }

private:
    TaskRecorder &recorder_;
    int number_;
    SteadyClock::time_point started_ = SteadyClock::now();
    bool ended_ = false;
    std::string interruption_ = "interrupted";
};

std::string stop_text(std::optional<StopReason> reason) {
    if (reason == StopReason::Cancelled)
        return "cancelled";
    if (reason == StopReason::Shutdown)
        return "interrupted by a runner shutdown; the task will run again";
    return "the task's time limit was reached";
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
            step_->end({StepStatus::Failed, "", error, std::nullopt, 0});
            ++attempt_;
            open();
        };
    }

    void succeed(const std::string &output, const TokenUsage &usage) {
        step_->end({StepStatus::Completed, output, "", usage, 0});
    }

    void interrupt(const std::string &why) { step_->set_interruption(why); }

private:
    void open() {
        const std::string description =
            attempt_ == 1 ? description_
                          : description_ + " (attempt " + std::to_string(attempt_) + ")";
        step_.emplace(recorder_, recorder_.begin_step(type_, description, "", input_.get()));
    }

    TaskRecorder &recorder_;
    StepType type_;
    std::string description_;
    JsonPtr input_;
    int attempt_ = 1;
    std::optional<OpenStep> step_;
};

class Agent {
public:
    Agent(const RunnerEnvironment &environment, const ClaimedTask &task, const TaskContext &context,
          const ResolvedModel &model, const ProviderResources &resources, TaskControl &control,
          TaskRecorder &recorder)
        : environment_(environment), task_(task), context_(context), control_(control),
          recorder_(recorder), provider_(make_provider(model, resources)) {
        for (const std::string &name : context.tools)
            if (const ToolInfo *tool = find_tool(name))
                tools_.push_back(tool);
        recorder_.record_model(provider_->name(), provider_->model());
    }

    FinalAnswer run() {
        const SteadyClock::time_point planning_started = SteadyClock::now();
        plan();
        planning_ms_ = milliseconds_since(planning_started);
        const SteadyClock::time_point execution_started = SteadyClock::now();
        FinalAnswer answer = execute();
        execution_ms_ = milliseconds_since(execution_started);
        OpenStep completion(recorder_, recorder_.begin_step(StepType::Completion,
                                                            "Report the result", "", nullptr));
        completion.end({answer.success ? StepStatus::Completed : StepStatus::Failed, answer.summary,
                        answer.success ? "" : answer.summary, std::nullopt, 0});
        return answer;
    }

    JsonPtr metrics(double total_seconds) const {
        JsonPtr tools_used(json_array());
        JsonPtr tool_calls(json_object());
        JsonPtr tool_time(json_object());
        for (const auto &[name, usage] : tool_usage_) {
            json_array_append_new(tools_used.get(), json_string(name.c_str()));
            json_object_set_new(tool_calls.get(), name.c_str(), json_integer(usage.calls));
            json_object_set_new(tool_time.get(), name.c_str(), json_integer(usage.milliseconds));
        }
        return JsonPtr(
            json_pack("{s:f,s:I,s:I,s:i,s:O,s:O,s:O,s:i,s:{s:I,s:I,s:I}}", "total_execution_time",
                      total_seconds, "planning_time_ms", static_cast<json_int_t>(planning_ms_),
                      "execution_time_ms", static_cast<json_int_t>(execution_ms_), "steps_executed",
                      tool_call_count_, "tools_used", tools_used.get(), "tool_calls",
                      tool_calls.get(), "tool_time_ms", tool_time.get(), "model_calls",
                      model_calls_, "tokens_used", "input", static_cast<json_int_t>(tokens_.input),
                      "output", static_cast<json_int_t>(tokens_.output), "total",
                      static_cast<json_int_t>(tokens_.input + tokens_.output)));
    }

    const std::vector<Artifact> &artifacts() const { return artifacts_; }

private:
    TaskLimits limits() const {
        return {task_.id, context_, environment_.config.tools,
                context_.max_tokens - (tokens_.input + tokens_.output)};
    }

    void plan() {
        PlanResult plan;
        if (!provider_->calls_a_model()) {
            OpenStep step(recorder_,
                          recorder_.begin_step(StepType::Planning,
                                               "Understand the task and make a plan", "", nullptr));
            try {
                plan = provider_->plan(task_.task, tools_, limits(), control_, nullptr);
            } catch (const TaskFailure &failure) {
                step.set_interruption(failure.what());
                throw;
            }
            step.end({StepStatus::Completed, dump_json(plan.plan.get()), "", std::nullopt, 0});
        } else {
            ModelCallSteps steps(recorder_, StepType::Planning,
                                 "Plan the task with " + provider_->name(),
                                 call_input("submit_plan"));
            try {
                plan = provider_->plan(task_.task, tools_, limits(), control_, steps.observer());
            } catch (const std::exception &e) {
                steps.interrupt(interruption_text(e));
                throw;
            }
            count_model_call(plan.usage);
            steps.succeed(dump_json(plan.plan.get()), plan.usage);
            check_token_budget();
        }
        recorder_.record_plan(plan.plan.get());
        conversation_.push_back(Message{Role::User, task_.task, {}, "", "", false, nullptr});
    }

    FinalAnswer execute() {
        for (;;) {
            check_stop();
            Turn turn = next_turn();
            if (turn.final)
                return *turn.final;
            Message assistant{Role::Assistant, turn.text, {}, "", "", false, nullptr};
            for (const ToolCall &call : turn.tool_calls)
                assistant.tool_calls.push_back(
                    {call.id, call.name,
                     call.arguments ? json_share(call.arguments.get()) : nullptr,
                     call.argument_error});
            conversation_.push_back(std::move(assistant));
            for (const ToolCall &call : turn.tool_calls)
                conversation_.push_back(call_tool(call));
        }
    }

    Turn next_turn() {
        if (!provider_->calls_a_model())
            return provider_->next_turn(conversation_, tools_, limits(), control_, nullptr);
        ModelCallSteps steps(recorder_, StepType::Analysis,
                             "Model call " + std::to_string(model_calls_ + 1) + " to " +
                                 provider_->name(),
                             call_input(""));
        Turn turn;
        try {
            turn =
                provider_->next_turn(conversation_, tools_, limits(), control_, steps.observer());
        } catch (const std::exception &e) {
            steps.interrupt(interruption_text(e));
            throw;
        }
        count_model_call(turn.usage);
        steps.succeed(describe_turn(turn), turn.usage);
        check_token_budget();
        return turn;
    }

    Message call_tool(const ToolCall &call) {
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
        OpenStep step(recorder_, recorder_.begin_step(StepType::ToolUse, describe_call(call),
                                                      call.name, call.arguments.get()));
        ToolResult result;
        if (!call.argument_error.empty()) {
            result.ok = false; // not run: the model can correct the arguments and call again
            result.error = call.name + ": " + call.argument_error;
        } else {
            ToolContext tool_context{context_,
                                     environment_.config.tools,
                                     environment_.sandbox,
                                     control_,
                                     artifacts_,
                                     bytes_written_};
            try {
                result = execute_tool(call.name, call.arguments.get(), tool_context);
            } catch (const TaskStopped &) {
                step.set_interruption(stop_text(control_.stop_reason()));
                throw;
            }
        }
        usage.milliseconds += milliseconds_since(started);
        step.end({result.ok ? StepStatus::Completed : StepStatus::Failed, result.output,
                  result.error, std::nullopt, 0});
        std::string content = result.ok ? result.output : result.error;
        if (!result.ok && !result.output.empty())
            content += "\n" + result.output;
        return Message{
            Role::Tool, content, {}, call.id, call.name, !result.ok, std::move(result.data)};
    }

    // A model call step's input: what was sent, in brief (the whole history would repeat
    // every earlier step).
    JsonPtr call_input(const char *forced_tool) const {
        JsonPtr tools(json_array());
        for (const ToolInfo *tool : tools_)
            json_array_append_new(tools.get(), json_string(tool->name));
        JsonPtr input(json_pack("{s:s,s:i,s:O}", "model", provider_->model().c_str(), "messages",
                                static_cast<int>(conversation_.size()), "tools", tools.get()));
        if (*forced_tool)
            json_object_set_new(input.get(), "forced_tool", json_string(forced_tool));
        return input;
    }

    std::string interruption_text(const std::exception &e) const {
        if (dynamic_cast<const TaskStopped *>(&e))
            return stop_text(control_.stop_reason());
        return e.what();
    }

    void check_stop() const {
        if (const std::optional<StopReason> reason = control_.stop_reason())
            throw TaskStopped(stop_text(reason));
    }

    void count_model_call(const TokenUsage &usage) {
        ++model_calls_;
        tokens_.input += usage.input;
        tokens_.output += usage.output;
    }

    void check_token_budget() const {
        const long long used = tokens_.input + tokens_.output;
        if (used > context_.max_tokens)
            throw TaskFailure(task_error::token_budget_exceeded,
                              "the model calls used " + std::to_string(used) +
                                  " tokens, over the task's budget of " +
                                  std::to_string(context_.max_tokens) +
                                  "; the work done so far is in its steps");
    }

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

JsonPtr result_json(const FinalAnswer &answer, const std::vector<Artifact> &artifacts,
                    double seconds) {
    JsonPtr list(json_array());
    for (const Artifact &artifact : artifacts)
        json_array_append_new(list.get(),
                              json_pack("{s:s,s:I}", "path", artifact.path.c_str(), "size",
                                        static_cast<json_int_t>(artifact.size)));
    JsonPtr result(json_object());
    json_object_set_new(result.get(), "success", json_boolean(answer.success));
    json_object_set_new(result.get(), "summary", json_text(answer.summary));
    json_object_set_new(result.get(), "details", json_text(answer.details));
    json_object_set_new(result.get(), "artifacts", list.release());
    json_object_set_new(result.get(), "execution_time", json_real(seconds));
    return result;
}

// Registers the control for cancellation delivery for exactly as long as the task runs.
class ControlScope {
public:
    ControlScope(const ControlRegistration &registration, const std::string &id,
                 TaskControl &control)
        : registration_(registration), id_(id) {
        registration_(id_, &control);
    }
    ControlScope(const ControlScope &) = delete;
    ControlScope &operator=(const ControlScope &) = delete;
    ~ControlScope() { registration_(id_, nullptr); }

private:
    const ControlRegistration &registration_;
    std::string id_;
};

void finish_early(TaskRecorder &recorder, const Log &log, const std::string &task_id,
                  const char *code, const std::string &message) {
    TaskEnd end{TaskStatus::Failed, nullptr, code, message, nullptr};
    recorder.finish(end);
    log.warn("task.failed", {{"task_id", task_id}, {"code", code}, {"error", message}});
}

} // namespace

void run_claimed_task(Db &db, ModelClient &client, const RunnerEnvironment &environment,
                      const ClaimedTask &task, const ControlRegistration &register_control) {
    const SteadyClock::time_point started = SteadyClock::now();
    const Log &log = environment.log;
    TaskRecorder recorder(db, task.id, environment.runner_id, task.attempt);
    log.info("task.started",
             {{"task_id", task.id}, {"attempt", task.attempt}, {"priority", task.priority}});

    TaskContext context;
    try {
        const JsonPtr parsed = task.context ? parse_json(*task.context) : nullptr;
        context = resolve_task_context(parsed.get(), environment.config, task.owner);
    } catch (const Error &e) {
        finish_early(recorder, log, task.id, task_error::invalid_context,
                     std::string("the task's context is not valid on this runner: ") + e.what());
        return;
    }
    // The model settings of this moment: a PUT /api/v1/config/model applies from the next task on.
    ResolvedModel model;
    try {
        model = resolve_model(effective_model(environment.config.model, load_model_overrides(db)));
    } catch (const Error &e) {
        finish_early(recorder, log, task.id, task_error::model_error,
                     std::string("the model configuration cannot be used: ") + e.what());
        return;
    }

    TaskControl control(started + std::chrono::seconds(context.timeout_seconds),
                        environment.shutdown);
    const ControlScope scope(register_control, task.id, control);
    const ProviderResources resources{client, db, log, environment.config.execution};
    TaskEnd end;
    std::optional<Agent> agent;
    try {
        agent.emplace(environment, task, context, model, resources, control, recorder);
        const FinalAnswer answer = agent->run();
        end.status = answer.success ? TaskStatus::Completed : TaskStatus::Failed;
        end.result = result_json(answer, agent->artifacts(), seconds_since(started));
        if (!answer.success) {
            end.error_code =
                answer.error_code.empty() ? task_error::task_failed : answer.error_code;
            end.error_message = answer.summary;
        }
    } catch (const TaskStopped &) {
        const std::optional<StopReason> reason = control.stop_reason();
        if (reason == StopReason::Shutdown) {
            release_task(db, task.id, environment.runner_id);
            log.info("task.released", {{"task_id", task.id}, {"reason", "shutdown"}});
            return;
        }
        if (reason == StopReason::Cancelled) {
            end.status = TaskStatus::Cancelled;
            end.error_code = task_error::cancelled;
            end.error_message = "cancelled while running; its steps so far are kept";
        } else {
            end.status = TaskStatus::Timeout;
            end.error_code = task_error::timeout;
            end.error_message = "the task did not finish within its time limit of " +
                                std::to_string(context.timeout_seconds) +
                                " s; its steps so far are kept";
        }
    } catch (const TaskFailure &failure) {
        end.status = TaskStatus::Failed;
        end.error_code = failure.code();
        end.error_message = failure.what();
    } catch (const std::exception &e) {
        log.error("task.internal_error", {{"task_id", task.id}, {"error", e.what()}});
        end.status = TaskStatus::Failed;
        end.error_code = task_error::internal_error;
        end.error_message =
            "internal error in the runner (task " + task.id + "; see the runner's log)";
    }
    if (agent)
        end.metrics = agent->metrics(seconds_since(started));
    if (!recorder.finish(end)) {
        log.warn("task.lease_lost", {{"task_id", task.id}});
        return;
    }
    log.info("task.finished", {{"task_id", task.id},
                               {"status", to_string(end.status)},
                               {"code", end.error_code},
                               {"duration_ms", milliseconds_since(started)}});
}

} // namespace tr::runner
