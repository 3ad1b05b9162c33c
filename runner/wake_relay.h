// The runner's end of the wake-up channel (core/wake_channel.h): a thread that waits on the
// runner's socket and, for each burst of wakes, calls `on_wake` once. The supervisor waits on
// its condition variable, not on descriptors; this thread is the bridge.
#pragma once

#include "core/unique_fd.h"
#include "core/wake_channel.h"

#include <functional>
#include <thread>

namespace tr::runner {

class WakeRelay {
public:
    // Starts the thread. `on_wake` runs on it and must not throw (it is called noexcept).
    // Throws Error(InternalError) when the thread's stop descriptor cannot be made.
    WakeRelay(WakeListener listener, std::function<void()> on_wake);
    WakeRelay(const WakeRelay &) = delete;
    WakeRelay &operator=(const WakeRelay &) = delete;
    ~WakeRelay(); // stops and joins the thread; the listener then removes its socket

    const WakeListener &listener() const noexcept { return listener_; }

private:
    void run() noexcept;

    WakeListener listener_;
    std::function<void()> on_wake_;
    UniqueFd stop_; // an eventfd: the destructor writes, run() polls
    std::thread thread_;
};

} // namespace tr::runner
