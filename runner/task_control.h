// Why a running task must stop, checked by everything that can take long (model calls,
// commands): its wall-clock deadline, a cancellation (DELETE), or the runner shutting down.
// The flags are set by the runner's supervisor thread and read by the task's worker.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>

namespace tr::runner {

enum class StopReason { Timeout, Cancelled, Shutdown };

class TaskControl {
public:
    using Clock = std::chrono::steady_clock;

    TaskControl(Clock::time_point deadline, const std::atomic<bool> &shutdown)
        : deadline_(deadline), shutdown_(shutdown) {}

    std::optional<StopReason> stop_reason() const noexcept {
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

private:
    Clock::time_point deadline_;
    const std::atomic<bool> &shutdown_;
    std::atomic<bool> cancelled_{false};
};

} // namespace tr::runner
