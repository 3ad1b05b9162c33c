// The agent loop and the per-task boundary.
#include "runner/loop.h"

#include "core/error.h"
#include "core/task.h"
#include "core/task_request.h"
#include "core/tool_catalog.h"
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

class Agent {
public:
    Agent(const RunnerEnvironment &environment, const ClaimedTask &task, const TaskContext &context,
          TaskControl &control, TaskRecorder &recorder)
        : environment_(environment), task_(task), context_(context), control_(control),
          recorder_(recorder), provider_(make_provider(environment.config.model)) {
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
        for (const auto &[name, count] : calls_by_tool_) {
            json_array_append_new(tools_used.get(), json_string(name.c_str()));
            json_object_set_new(tool_calls.get(), name.c_str(), json_integer(count));
        }
        return JsonPtr(json_pack(
            "{s:f,s:I,s:I,s:i,s:O,s:O,s:i,s:{s:I,s:I,s:I}}", "total_execution_time", total_seconds,
            "planning_time_ms", static_cast<json_int_t>(planning_ms_), "execution_time_ms",
            static_cast<json_int_t>(execution_ms_), "steps_executed", tool_call_count_,
            "tools_used", tools_used.get(), "tool_calls", tool_calls.get(), "model_calls",
            model_calls_, "tokens_used", "input", static_cast<json_int_t>(tokens_.input), "output",
            static_cast<json_int_t>(tokens_.output), "total",
            static_cast<json_int_t>(tokens_.input + tokens_.output)));
    }

    const std::vector<Artifact> &artifacts() const { return artifacts_; }

private:
    void plan() {
        OpenStep step(recorder_,
                      recorder_.begin_step(StepType::Planning,
                                           "Understand the task and make a plan", "", nullptr));
        PlanResult plan;
        try {
            plan = provider_->plan(task_.task, tools_, control_);
        } catch (const TaskFailure &failure) {
            step.set_interruption(failure.what());
            throw;
        }
        count_model_call(plan.usage);
        step.end({StepStatus::Completed, dump_json(plan.plan.get()), "",
                  provider_->calls_a_model() ? std::optional<TokenUsage>(plan.usage) : std::nullopt,
                  0});
        recorder_.record_plan(plan.plan.get());
        conversation_.push_back(Message{Role::User, task_.task, {}, "", "", false, nullptr});
    }

    FinalAnswer execute() {
        for (;;) {
            check_stop();
            Turn turn = next_turn();
            if (turn.final)
                return *turn.final;
            if (turn.tool_calls.empty())
                throw TaskFailure(task_error::model_error,
                                  provider_->name() + " returned neither tool calls nor an answer");
            Message assistant{Role::Assistant, "", {}, "", "", false, nullptr};
            for (const ToolCall &call : turn.tool_calls)
                assistant.tool_calls.push_back(
                    {call.id, call.name, json_share(call.arguments.get())});
            conversation_.push_back(std::move(assistant));
            for (const ToolCall &call : turn.tool_calls)
                conversation_.push_back(call_tool(call));
        }
    }

    Turn next_turn() {
        if (!provider_->calls_a_model())
            return provider_->next_turn(conversation_, tools_, control_);
        OpenStep step(recorder_,
                      recorder_.begin_step(StepType::Analysis,
                                           "Model call " + std::to_string(model_calls_ + 1), "",
                                           nullptr));
        Turn turn = provider_->next_turn(conversation_, tools_, control_);
        count_model_call(turn.usage);
        step.end({StepStatus::Completed, turn.final ? turn.final->summary : "", "", turn.usage, 0});
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
        ++calls_by_tool_[call.name];
        OpenStep step(recorder_, recorder_.begin_step(StepType::ToolUse, describe_call(call),
                                                      call.name, call.arguments.get()));
        ToolContext tool_context{context_, environment_.config.tools, environment_.sandbox,
                                 control_, artifacts_};
        ToolResult result;
        try {
            result = execute_tool(call.name, call.arguments.get(), tool_context);
        } catch (const TaskStopped &) {
            step.set_interruption(stop_text(control_.stop_reason()));
            throw;
        }
        step.end({result.ok ? StepStatus::Completed : StepStatus::Failed, result.output,
                  result.error, std::nullopt, 0});
        Message message{Role::Tool,
                        result.ok ? result.output : result.error + "\n" + result.output,
                        {},
                        call.id,
                        call.name,
                        !result.ok,
                        std::move(result.data)};
        if (!result.ok && result.output.empty())
            message.content = result.error;
        return message;
    }

    void check_stop() const {
        if (const std::optional<StopReason> reason = control_.stop_reason())
            throw TaskStopped(stop_text(reason));
    }

    void count_model_call(const TokenUsage &usage) {
        if (!provider_->calls_a_model())
            return;
        ++model_calls_;
        tokens_.input += usage.input;
        tokens_.output += usage.output;
    }

    static std::string stop_text(std::optional<StopReason> reason) {
        if (reason == StopReason::Cancelled)
            return "cancelled";
        if (reason == StopReason::Shutdown)
            return "interrupted by a runner shutdown; the task will run again";
        return "the task's time limit was reached";
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
    std::map<std::string, int> calls_by_tool_;
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

} // namespace

void run_claimed_task(Db &db, const RunnerEnvironment &environment, const ClaimedTask &task,
                      const ControlRegistration &register_control) {
    const SteadyClock::time_point started = SteadyClock::now();
    const Log &log = environment.log;
    TaskRecorder recorder(db, task.id, environment.runner_id, task.attempt);
    log.info("task.started",
             {{"task_id", task.id}, {"attempt", task.attempt}, {"priority", task.priority}});

    TaskContext context;
    try {
        const JsonPtr parsed = task.context ? parse_json(*task.context) : nullptr;
        context = resolve_task_context(parsed.get(), environment.config);
    } catch (const Error &e) {
        TaskEnd end{TaskStatus::Failed, nullptr, task_error::invalid_context,
                    std::string("the task's context is not valid on this runner: ") + e.what(),
                    nullptr};
        recorder.finish(end);
        log.warn("task.failed",
                 {{"task_id", task.id}, {"code", end.error_code}, {"error", end.error_message}});
        return;
    }

    TaskControl control(started + std::chrono::seconds(context.timeout_seconds),
                        environment.shutdown);
    const ControlScope scope(register_control, task.id, control);
    TaskEnd end;
    std::optional<Agent> agent;
    try {
        agent.emplace(environment, task, context, control, recorder);
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
            end.error_message = "cancelled while running";
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
