// Supervisor and workers.
#include "runner/runner.h"

#include "core/config_store.h"
#include "core/db.h"
#include "core/process_stats.h"
#include "core/random.h"
#include "core/runners.h"
#include "runner/providers/model_client.h"
#include "runner/pruner.h"
#include "runner/webhook_sender.h"

#include <SQLiteCpp/Exception.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

namespace tr::runner {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds cancel_check_interval{250};
// While writes fail, the heartbeat tries again after this long, doubling up to the cap.
constexpr std::chrono::milliseconds first_write_backoff{250};
constexpr std::chrono::milliseconds max_write_backoff{8000};

std::string make_runner_id() {
    char host[256] = "host";
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + "-" + std::to_string(::getpid()) + "-" + random_hex(3);
}

// A cheap read before claiming, which takes the write lock that submissions also need.
bool anything_queued(Db &db) {
    Query queued = db.query("SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'queued')");
    return queued->executeStep() && queued->getColumn(0).getInt() != 0;
} // the statement is reset here: a read left open would make the claim's write fail with BUSY

} // namespace

Runner::Runner(const Config &config, const Log &log, const Sandbox &sandbox,
               const Watchdog &watchdog)
    : config_(config), log_(log), sandbox_(sandbox), watchdog_(watchdog), id_(make_runner_id()),
      stop_requests_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), progress_storage_(config.storage),
      other_runners_(wake_directory(config.storage.database), log) {
    progress_storage_.synchronous = "normal";
    if (!stop_requests_.valid())
        throw Error(ErrorCode::InternalError, system_error_text("eventfd", errno));
}

void Runner::request_stop() noexcept {
    const std::uint64_t one = 1;
    // Cannot fail but for a counter at its maximum, which still wakes run().
    [[maybe_unused]] const ssize_t written = ::write(stop_requests_.get(), &one, sizeof one);
}

namespace {

// A signalfd takes the signals the caller has blocked, as sigwait did, and can be polled
// together with the stop requests. Made before any thread starts, so failing leaves nothing.
UniqueFd signal_fd(const sigset_t *stop_signals) {
    if (!stop_signals)
        return UniqueFd();
    UniqueFd signals(::signalfd(-1, stop_signals, SFD_CLOEXEC));
    if (!signals.valid())
        throw Error(ErrorCode::InternalError, system_error_text("signalfd", errno));
    return signals;
}

} // namespace

std::string Runner::wait_for_stop(const UniqueFd &signals) {
    pollfd waits[2] = {{stop_requests_.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
    for (;;) {
        // On two valid descriptors poll fails only with EINTR or ENOMEM: both pass; try again.
        if (::poll(waits, signals.valid() ? 2 : 1, -1) <= 0)
            continue;
        if (waits[0].revents)
            return "stop requested";
        signalfd_siginfo info{};
        if (waits[1].revents && ::read(signals.get(), &info, sizeof info) == sizeof info)
            return strsignal(static_cast<int>(info.ssi_signo));
    }
}

int Runner::run(const sigset_t &stop_signals) {
    return run_until_stopped(&stop_signals);
}

int Runner::run() {
    return run_until_stopped(nullptr);
}

int Runner::run_until_stopped(const sigset_t *stop_signals) {
    const UniqueFd signals = signal_fd(stop_signals);
    writes_.emplace(progress_storage_, log_, "runner " + id_, GroupCommitter::Settings{});
    {
        char host[256] = "";
        ::gethostname(host, sizeof host - 1);
        const RunnerRecord record{id_,
                                  host,
                                  static_cast<long>(::getpid()),
                                  config_.service.max_concurrent_tasks,
                                  to_string(sandbox_.kind()),
                                  sandbox_.user_text(),
                                  sandbox_.cgroups().description(),
                                  config_.tools.network};
        writes_->write([&](Db &writer) { register_runner(writer, record, Clock::now()); });
    }
    std::optional<WakeRelay> wakes;
    listen_for_wakes(wakes);
    log_.info("runner.started", {{"runner", id_},
                                 {"workers", config_.service.max_concurrent_tasks},
                                 {"sandbox", to_string(sandbox_.kind())},
                                 {"wake_socket", wakes ? wakes->listener().path() : "none"}});
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(config_.service.max_concurrent_tasks));
    for (int i = 0; i < config_.service.max_concurrent_tasks; ++i)
        workers.emplace_back(&Runner::work, this);
    std::thread supervisor(&Runner::supervise, this);
    const WebhookSender webhooks(config_, log_, id_); // its own thread; stops when run() returns

    const std::string reason = wait_for_stop(signals);
    log_.info("runner.stopping",
              {{"signal", reason}, {"grace_seconds", config_.execution.shutdown_grace_seconds}});
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    // Tasks handed over but not yet started go straight back to the queue.
    std::deque<ClaimedTask> unstarted;
    unstarted.swap(queue_);
    changed_.notify_all();
    const bool finished =
        changed_.wait_for(lock, std::chrono::seconds(config_.execution.shutdown_grace_seconds),
                          [this] { return active_tasks_ == 0; });
    lock.unlock();
    if (!finished) {
        log_.info("runner.interrupting", {{"running_tasks", active_tasks_}});
        abort_tasks_ = true; // each task stops at its next check (within 50 ms) and is released
    }
    for (std::thread &worker : workers)
        worker.join();
    {
        std::lock_guard<std::mutex> guard(mutex_);
        supervisor_done_ = true;
    }
    changed_.notify_all();
    supervisor.join();
    wakes.reset(); // the socket goes: senders forget this runner
    record_stop(std::move(unstarted));
    return 0;
}

void Runner::record_stop(std::deque<ClaimedTask> unstarted) {
    // A claim that was being committed as the stop came is in the queue now, with no worker left.
    for (ClaimedTask &task : queue_)
        unstarted.push_back(std::move(task));
    queue_.clear();
    writes_->write([&](Db &writer) {
        for (const ClaimedTask &task : unstarted)
            release_task(writer, task.claim(id_));
        record_runner_stopped(writer, id_, Clock::now());
    });
    writes_.reset();
    if (!unstarted.empty())
        other_runners_.wake();
    log_.info("runner.stopped", {{"runner", id_}});
}

void Runner::work() {
    Db db(config_.storage);
    ModelClient client; // this worker's connection to the provider, kept open between calls
    const RunnerEnvironment environment{config_, log_, sandbox_, id_, *writes_, abort_tasks_};
    const ControlRegistration registration = [this](const AttemptClaim &claim,
                                                    std::shared_ptr<TaskControl> control) {
        register_control(claim, std::move(control));
    };
    for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        ++idle_workers_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        --idle_workers_;
        if (queue_.empty())
            return; // stopping
        ClaimedTask task = std::move(queue_.front());
        queue_.pop_front();
        ++active_tasks_;
        lock.unlock();
        try {
            run_claimed_task(db, client, environment, task, registration);
        } catch (const std::exception &e) {
            // Most likely the database failed while recording; the lease lapses and another
            // attempt (here or elsewhere) picks the task up again.
            log_.error("task.unrecorded", {{"task_id", task.id}, {"error", e.what()}});
        }
        lock.lock();
        --active_tasks_;
        queue_empty_ = false; // a finished task may have freed the next of a sequential batch
        changed_.notify_all();
    }
}

void Runner::register_control(const AttemptClaim &claim, std::shared_ptr<TaskControl> control) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (control)
        running_[claim.task_id] = {claim, std::move(control)};
    else if (const auto found = running_.find(claim.task_id);
             found != running_.end() && found->second.claim.attempt == claim.attempt)
        running_.erase(found);
}

void Runner::claim_while_idle(Db &db) {
    if (!anything_queued(db))
        return;
    int wanted = 0;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (stopping_)
            return;
        wanted = idle_workers_ - static_cast<int>(queue_.size());
    }
    if (wanted <= 0)
        return;
    std::vector<ClaimedTask> claimed;
    const TimePoint lease_until =
        Clock::now() + std::chrono::seconds(config_.execution.lease_seconds);
    std::shared_ptr<const ModelConfig> model;
    writes_->write([&](Db &writer) {
        claimed = claim_tasks(writer, id_, lease_until, wanted);
        if (claimed.empty())
            return;
        try { // in the claim's transaction: what a change committed before it holds
            model = std::make_shared<const ModelConfig>(live_config(config_, writer).model);
        } catch (const Error &) {
            // A stored setting no longer valid: each task reads them again, and fails saying why.
        }
    });
    std::lock_guard<std::mutex> guard(mutex_);
    if (static_cast<int>(claimed.size()) == wanted)
        queue_empty_ = false; // every idle worker got one: more may wait
    for (ClaimedTask &task : claimed) {
        task.model = model;
        log_.debug("task.claimed", {{"task_id", task.id}, {"attempt", task.attempt}});
        queue_.push_back(std::move(task));
    }
    changed_.notify_all();
}

void Runner::deliver_cancellations(Db &db) {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (running_.empty())
            return; // nothing to cancel: no query
    }
    const std::vector<std::string> cancelled = cancel_requests(db, id_);
    std::lock_guard<std::mutex> guard(mutex_);
    for (const std::string &id : cancelled)
        if (const auto found = running_.find(id); found != running_.end())
            found->second.control->cancel();
}

// Per attempt, not per runner: an attempt's lease is renewed only while its worker pulses, and
// an attempt whose lease is gone (recovered while this process was stopped, say) is told to
// stop at once — its command killed, its model call aborted — and writes nothing more.
void Runner::renew_leases(Db &writer, TimePoint lease_until) {
    const auto pulse_window = std::chrono::seconds(config_.execution.lease_seconds) / 2;
    std::vector<Running> running;
    std::vector<AttemptClaim> waiting; // claimed, handed over, not yet started
    {
        std::lock_guard<std::mutex> guard(mutex_);
        for (const auto &[id, attempt] : running_)
            running.push_back(attempt);
        for (const ClaimedTask &task : queue_)
            waiting.push_back(task.claim(id_));
    }
    for (const Running &attempt : running) {
        if (!attempt.control->pulsed_within(pulse_window)) {
            log_.warn("task.worker_stalled", {{"task_id", attempt.claim.task_id}});
            continue; // its lease lapses; recovery takes the task
        }
        if (!renew_lease(writer, attempt.claim, lease_until)) {
            log_.warn("task.lease_lost",
                      {{"task_id", attempt.claim.task_id}, {"attempt", attempt.claim.attempt}});
            attempt.control->lose_lease();
        }
    }
    for (const AttemptClaim &claim : waiting)
        renew_lease(writer, claim, lease_until);
}

// One write: the runner's row and every lease it holds (a lease found lost stops its attempt at
// once; should the transaction then fail, the attempt would have stopped anyway as its lease is
// not renewed). Then, as a write of its own, so that its failure takes no renewal with it, the
// recovery of other runners' lapsed leases.
void Runner::heartbeat(ProcessStats &stats) {
    Heartbeat beat;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        beat.active_tasks = active_tasks_;
    }
    stats.sample();
    beat.cpu_percent = stats.cpu_percent();
    beat.memory_mb = stats.memory_mb();
    writes_->write([&](Db &writer) {
        const TimePoint wall = Clock::now();
        record_heartbeat(writer, id_, beat, wall);
        renew_leases(writer, wall + std::chrono::seconds(config_.execution.lease_seconds));
    });
    int recovered = 0;
    writes_->write([&](Db &writer) { recovered = recover_expired_leases(writer, Clock::now()); });
    if (recovered) {
        log_.warn("tasks.recovered", {{"count", recovered}});
        note_requeued();
    }
}

// Said once when writes start failing and once when they pass again, not at every try.
void Runner::note_write_failure(const std::exception &e) {
    if (!writes_failing_)
        log_.error("runner.writes_failing",
                   {{"error", e.what()}, {"action", "not claiming; trying again with backoff"}});
    writes_failing_ = true;
    write_backoff_ = write_backoff_.count() == 0 ? first_write_backoff
                                                 : std::min(write_backoff_ * 2, max_write_backoff);
}

void Runner::note_writes_succeed() {
    if (writes_failing_)
        log_.info("runner.writes_recovered", {{"action", "claiming again"}});
    writes_failing_ = false;
    write_backoff_ = std::chrono::milliseconds(0);
}

// Before the supervisor's first look, so that a task queued after that look wakes it.
void Runner::listen_for_wakes(std::optional<WakeRelay> &relay) {
    try {
        relay.emplace(WakeListener(wake_directory(config_.storage.database), id_),
                      [this] { note_wake(); });
    } catch (const std::exception &e) {
        // Turned into a value: without the channel, the runner finds tasks by polling alone.
        log_.warn("runner.wake_unavailable",
                  {{"error", e.what()},
                   {"action", "polling every " +
                                  std::to_string(config_.execution.poll_interval_ms) + " ms"}});
    }
}

void Runner::note_wake() {
    std::lock_guard<std::mutex> guard(mutex_);
    woken_ = true;
    changed_.notify_all();
}

// Tasks went back to the queue: this runner looks again, and tells the others.
void Runner::note_requeued() {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        queue_empty_ = false;
    }
    other_runners_.wake();
}

// Whether to look at the queue now: a wake, the poll tick, or a look that may find more, and
// a worker free to take what it finds. Without a free worker, the look waits for one.
bool Runner::time_to_look(bool poll_due) {
    std::lock_guard<std::mutex> guard(mutex_);
    const bool asked = woken_ || poll_due || !queue_empty_;
    woken_ = false;
    if (!asked)
        return false;
    if (stopping_ || idle_workers_ <= static_cast<int>(queue_.size())) {
        queue_empty_ = false;
        return false;
    }
    queue_empty_ = true; // unless this look finds more than the idle workers take
    return true;
}

bool Runner::supervisor_has_work() const {
    return !writes_failing_ && (woken_ || (!queue_empty_ && !stopping_ &&
                                           idle_workers_ > static_cast<int>(queue_.size())));
}

void Runner::supervise() {
    Db db(config_.storage);
    const auto poll = std::chrono::milliseconds(config_.execution.poll_interval_ms);
    SteadyClock::time_point next_heartbeat = SteadyClock::now();
    SteadyClock::time_point next_cancel_check = SteadyClock::now();
    SteadyClock::time_point next_poll = SteadyClock::now();
    ProcessStats stats; // CPU between heartbeats, memory at each
    // Deletes what storage.retention_days says is due (runner/pruner.h).
    Pruner pruner(config_.storage, log_, *writes_);
    for (;;) {
        const SteadyClock::time_point now = SteadyClock::now();
        try {
            if (now >= next_heartbeat) {
                next_heartbeat = now + runner_heartbeat_interval;
                heartbeat(stats);
                watchdog_.beat(); // only after the leases were renewed
                note_writes_succeed();
            }
            if (now >= next_cancel_check) {
                deliver_cancellations(db);
                next_cancel_check = now + cancel_check_interval;
            }
            const bool poll_due = now >= next_poll;
            if (poll_due)
                next_poll = now + poll;
            if (!writes_failing_ && time_to_look(poll_due))
                claim_while_idle(db);
            if (!writes_failing_ && now >= pruner.next_run())
                pruner.run(now);
        } catch (const SQLite::Exception &e) {
            if (is_write_failure(e)) {
                note_write_failure(e);
                next_heartbeat = now + write_backoff_;
            } else {
                log_.warn("runner.supervision_failed", {{"error", e.what()}});
            }
        } catch (const std::exception &e) {
            // A failing tick must not end supervision; the next one tries again.
            log_.warn("runner.supervision_failed", {{"error", e.what()}});
        }
        std::unique_lock<std::mutex> lock(mutex_);
        // Until whatever is due first; cancellations only matter while something runs.
        SteadyClock::time_point until = std::min({next_heartbeat, next_poll, pruner.next_run()});
        if (!running_.empty())
            until = std::min(until, next_cancel_check);
        changed_.wait_until(lock, until,
                            [this] { return supervisor_done_ || supervisor_has_work(); });
        if (supervisor_done_)
            return;
    }
}

} // namespace tr::runner
