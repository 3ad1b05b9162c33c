// The relay thread.
#include "runner/wake_relay.h"

#include "core/error.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>

namespace tr::runner {

WakeRelay::WakeRelay(WakeListener listener, std::function<void()> on_wake)
    : listener_(std::move(listener)), on_wake_(std::move(on_wake)),
      stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!stop_.valid())
        throw Error(ErrorCode::InternalError, system_error_text("eventfd", errno));
    thread_ = std::thread(&WakeRelay::run, this);
}

WakeRelay::~WakeRelay() {
    const std::uint64_t one = 1;
    // Cannot fail but for a counter at its maximum, which still wakes run().
    [[maybe_unused]] const ssize_t written = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
}

void WakeRelay::run() noexcept {
    pollfd waits[2] = {{stop_.get(), POLLIN, 0}, {listener_.fd(), POLLIN, 0}};
    for (;;) {
        // On two valid descriptors poll fails only with EINTR or ENOMEM: both pass; try again.
        if (::poll(waits, 2, -1) <= 0)
            continue;
        if (waits[0].revents)
            return;
        if (waits[1].revents & (POLLERR | POLLNVAL))
            return; // the socket broke (it cannot, bound and open): the runner still polls
        // Drained first: a wake arriving while on_wake runs makes the socket readable again.
        if (listener_.drain())
            on_wake_();
    }
}

} // namespace tr::runner
