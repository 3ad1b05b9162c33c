// Why a running task must stop, checked by everything that can take long (model calls,
// commands): its wall-clock deadline, a cancellation (DELETE), the runner shutting down, or the
// loss of its lease. The flags are set by the runner's supervisor thread and read by the task's
// worker.
//
// Each check is also the worker's pulse: the supervisor renews a task's lease only while its
// worker has checked recently, so a worker stuck where it cannot check (a hung write, a
// deadlock) lets its lease lapse and recovery takes the task instead of it staying running.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>

namespace tr::runner {

enum class StopReason { Timeout, Cancelled, Shutdown, LeaseLost };

class TaskControl {
public:
    using Clock = std::chrono::steady_clock;

    TaskControl(Clock::time_point deadline, const std::atomic<bool> &shutdown)
        : deadline_(deadline), shutdown_(shutdown) {}

    std::optional<StopReason> stop_reason() const noexcept {
        pulse();
        if (lease_lost_.load(std::memory_order_relaxed))
            return StopReason::LeaseLost;
        if (cancelled_.load(std::memory_order_relaxed))
            return StopReason::Cancelled;
        if (shutdown_.load(std::memory_order_relaxed))
            return StopReason::Shutdown;
        if (Clock::now() >= deadline_)
            return StopReason::Timeout;
        return std::nullopt;
    }

    Clock::time_point deadline() const noexcept { return deadline_; }
    std::chrono::milliseconds remaining() const noexcept {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
        return left.count() > 0 ? left : std::chrono::milliseconds(0);
    }

    void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
    void lose_lease() noexcept { lease_lost_.store(true, std::memory_order_relaxed); }

    // The worker is alive: called by every stop check, and by the worker between steps.
    void pulse() const noexcept {
        last_pulse_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    bool pulsed_within(Clock::duration window) const noexcept {
        const Clock::time_point last{Clock::duration(last_pulse_.load(std::memory_order_relaxed))};
        return Clock::now() - last <= window;
    }

private:
    Clock::time_point deadline_;
    const std::atomic<bool> &shutdown_;
    std::atomic<bool> cancelled_{false};
    std::atomic<bool> lease_lost_{false};
    mutable std::atomic<Clock::rep> last_pulse_{Clock::now().time_since_epoch().count()};
};

} // namespace tr::runner
