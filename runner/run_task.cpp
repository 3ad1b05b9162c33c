// The task boundary: from a claimed task to its stored end.
#include "runner/run_task.h"

#include "core/config_store.h"
#include "core/error.h"
#include "core/model.h"
#include "core/task.h"
#include "core/task_request.h"
#include "core/time.h"
#include "runner/agent.h"
#include "runner/providers/model_client.h"
#include "runner/providers/provider.h"
#include "runner/recorder.h"
#include "runner/task_failure.h"

#include <SQLiteCpp/Exception.h>

#include <thread>

namespace tr::runner {
namespace {

double seconds_since(SteadyClock::time_point since) {
    return static_cast<double>(elapsed_ms(since)) / 1000.0;
}

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

// Registers the attempt's control with the supervisor for exactly as long as the attempt runs:
// its lease is renewed only while it is registered.
class ControlScope {
public:
    ControlScope(const ControlRegistration &registration, AttemptClaim claim,
                 std::shared_ptr<TaskControl> control)
        : registration_(registration), claim_(std::move(claim)) {
        registration_(claim_, std::move(control));
    }
    ControlScope(const ControlScope &) = delete;
    ControlScope &operator=(const ControlScope &) = delete;
    ~ControlScope() { registration_(claim_, nullptr); }

private:
    const ControlRegistration &registration_;
    AttemptClaim claim_;
};

// The end's write, tried again while the database refuses it (a full disk, an I/O error), with
// backoff, for half a lease: as long as the supervisor goes on renewing the lease of a worker
// that pulsed last before the write. Then the attempt gives up; its lease is no longer renewed
// and lapses, so recovery takes the task: it is never left running for ever.
enum class Stored { Yes, LeaseLost, Abandoned };

Stored store_end(TaskRecorder &recorder, const TaskEnd &end, const Log &log,
                 std::chrono::seconds lease) {
    const auto give_up_at = SteadyClock::now() + lease / 2;
    std::chrono::milliseconds delay{100};
    for (int tries = 1;; ++tries) {
        try {
            return recorder.finish(end) ? Stored::Yes : Stored::LeaseLost;
        } catch (const SQLite::Exception &e) {
            // A record broken by an earlier write stays broken: its order cannot be mended.
            if (recorder.broken() || SteadyClock::now() + delay >= give_up_at) {
                log.error(
                    "task.unrecorded",
                    {{"task_id", recorder.claim().task_id}, {"tries", tries}, {"error", e.what()}});
                return Stored::Abandoned;
            }
            if (tries == 1)
                log.warn("task.end_write_failed",
                         {{"task_id", recorder.claim().task_id}, {"error", e.what()}});
            std::this_thread::sleep_for(delay);
            delay = std::min(delay * 2, std::chrono::milliseconds(2000));
        }
    }
}

std::chrono::seconds lease_of(const RunnerEnvironment &environment) {
    return std::chrono::seconds(environment.config.execution.lease_seconds);
}

void log_lease_lost(const Log &log, const AttemptClaim &claim) {
    log.warn("task.lease_lost", {{"task_id", claim.task_id}, {"attempt", claim.attempt}});
}

TaskEnd failed_end(const char *code, std::string message) {
    TaskEnd end;
    end.status = TaskStatus::Failed;
    end.error_code = code;
    end.error_message = std::move(message);
    return end;
}

void finish_early(TaskRecorder &recorder, const RunnerEnvironment &environment, const char *code,
                  const std::string &message) {
    const Log &log = environment.log;
    const TaskEnd end = failed_end(code, message);
    const Stored stored = store_end(recorder, end, log, lease_of(environment));
    if (stored == Stored::LeaseLost)
        log_lease_lost(log, recorder.claim());
    else if (stored == Stored::Yes)
        log.warn("task.failed",
                 {{"task_id", recorder.claim().task_id}, {"code", code}, {"error", message}});
}

TaskEnd answered_end(const FinalAnswer &answer, const Agent &agent,
                     SteadyClock::time_point started) {
    TaskEnd end;
    end.status = answer.success ? TaskStatus::Completed : TaskStatus::Failed;
    end.result = result_json(answer, agent.artifacts(), seconds_since(started));
    if (!answer.success) {
        end.error_code = answer.error_code.empty() ? task_error::task_failed : answer.error_code;
        end.error_message = answer.summary;
    }
    return end;
}

// The end of an attempt its control stopped; nullopt when it must write nothing more (its lease
// is gone) or gave the task back (a shutdown).
std::optional<TaskEnd> stopped_end(const AgentSetup &setup) {
    const Log &log = setup.environment.log;
    const std::optional<StopReason> reason = setup.control.stop_reason();
    if (reason == StopReason::LeaseLost) {
        log_lease_lost(log, setup.recorder.claim());
        return std::nullopt;
    }
    if (reason == StopReason::Shutdown) {
        setup.environment.writes.write(
            [&](Db &writer) { release_task(writer, setup.recorder.claim()); });
        log.info("task.released", {{"task_id", setup.task.id}, {"reason", "shutdown"}});
        return std::nullopt;
    }
    if (reason == StopReason::Cancelled) {
        TaskEnd end =
            failed_end(task_error::cancelled, "cancelled while running; its steps so far are kept");
        end.status = TaskStatus::Cancelled;
        return end;
    }
    TaskEnd end =
        failed_end(task_error::timeout, "the task did not finish within its time limit of " +
                                            std::to_string(setup.context.timeout_seconds) +
                                            " s; its steps so far are kept");
    end.status = TaskStatus::Timeout;
    return end;
}

// The end of an attempt that failed unexpectedly; nullopt when nothing can be written.
std::optional<TaskEnd> unexpected_end(const std::exception &e, const AgentSetup &setup) {
    const Log &log = setup.environment.log;
    if (setup.recorder.lease_lost()) { // a write refused by the fence, seen as another error
        log_lease_lost(log, setup.recorder.claim());
        return std::nullopt;
    }
    if (const auto *sqlite = dynamic_cast<const SQLite::Exception *>(&e);
        sqlite && is_write_failure(*sqlite)) {
        // The disk, not the task: nothing can be recorded now. The attempt ends unrecorded, its
        // lease lapses, and recovery runs the task again once writes pass.
        log.error("task.unrecorded", {{"task_id", setup.task.id}, {"error", e.what()}});
        return std::nullopt;
    }
    log.error("task.internal_error", {{"task_id", setup.task.id}, {"error", e.what()}});
    return failed_end(task_error::internal_error, "internal error in the runner (task " +
                                                      setup.task.id + "; see the runner's log)");
}

// Runs the agent and says how the attempt ended; nullopt when it must write nothing more.
std::optional<TaskEnd> run_agent(const AgentSetup &setup, SteadyClock::time_point started) {
    std::optional<Agent> agent;
    std::optional<TaskEnd> end;
    try {
        agent.emplace(setup);
        end = answered_end(agent->run(), *agent, started);
    } catch (const LeaseLost &) {
        log_lease_lost(setup.environment.log, setup.recorder.claim());
        return std::nullopt;
    } catch (const TaskStopped &) {
        end = stopped_end(setup);
    } catch (const TaskFailure &failure) {
        end = failed_end(failure.code(), failure.what());
    } catch (const std::exception &e) {
        end = unexpected_end(e, setup);
    }
    if (end && agent)
        end->metrics = agent->metrics(seconds_since(started));
    return end;
}

} // namespace

void run_claimed_task(Db &db, ModelClient &client, const RunnerEnvironment &environment,
                      const ClaimedTask &task, const ControlRegistration &register_control) {
    const SteadyClock::time_point started = SteadyClock::now();
    const Log &log = environment.log;
    TaskRecorder recorder(db, environment.writes, task.claim(environment.runner_id),
                          task.last_step);
    log.info("task.started",
             {{"task_id", task.id}, {"attempt", task.attempt}, {"priority", task.priority}});

    TaskContext context;
    try {
        const JsonPtr parsed = task.context ? parse_json(*task.context) : nullptr;
        context = resolve_task_context(parsed.get(), environment.config, task.owner);
    } catch (const Error &e) {
        finish_early(recorder, environment, task_error::invalid_context,
                     std::string("the task's context is not valid on this runner: ") + e.what());
        return;
    }
    // The model settings of this moment: a PUT /api/v1/config of live settings (or its spelling
    // PUT /api/v1/config/model) applies from the next task on.
    ResolvedModel model;
    try {
        model = resolve_model(task.model ? *task.model : live_config(environment.config, db).model);
    } catch (const Error &e) {
        finish_early(recorder, environment, task_error::model_error,
                     std::string("the model configuration cannot be used: ") + e.what());
        return;
    }

    const auto control = std::make_shared<TaskControl>(
        started + std::chrono::seconds(context.timeout_seconds), environment.shutdown);
    const ControlScope scope(register_control, recorder.claim(), control);
    const ProviderResources resources{client, db, log, environment.config.execution};
    const std::optional<TaskEnd> end =
        run_agent({environment, task, context, model, resources, *control, recorder}, started);
    if (!end)
        return;
    const Stored stored = store_end(recorder, *end, log, lease_of(environment));
    if (stored == Stored::LeaseLost)
        log_lease_lost(log, recorder.claim());
    if (stored != Stored::Yes)
        return;
    log.info("task.finished", {{"task_id", task.id},
                               {"status", to_string(end->status)},
                               {"code", end->error_code},
                               {"duration_ms", elapsed_ms(started)}});
}

} // namespace tr::runner
