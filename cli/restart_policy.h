// When the launcher starts a component that died again, and when it stops trying: restarts
// wait a delay that starts small and doubles up to a cap (so a component that cannot start does
// not spin), start over at the small delay once a component has stayed up a while, and end
// after too many deaths in a short window, when restarting is clearly not helping.
#pragma once

#include "core/time.h"

#include <chrono>
#include <deque>
#include <optional>

namespace tr::cli {

struct RestartLimits {
    std::chrono::milliseconds first_delay{250};
    std::chrono::milliseconds max_delay{4000};
    // Up this long before it died: it was healthy, and its next restart waits first_delay.
    std::chrono::seconds stable_after{30};
    // This many deaths of one component within `window`, and the launcher gives up.
    int max_deaths = 5;
    std::chrono::seconds window{60};
};

// One component's record. Not thread-safe; the launcher's main thread owns it.
class RestartPolicy {
public:
    RestartPolicy() = default;
    explicit RestartPolicy(RestartLimits limits) : limits_(limits) {}

    // The process started at `started` died at `died`: how long to wait before starting it
    // again, or nullopt when this is limits.max_deaths-th death within limits.window.
    std::optional<std::chrono::milliseconds> on_death(SteadyClock::time_point started,
                                                      SteadyClock::time_point died);

    // Deaths within the window before the latest one, that one included.
    int recent_deaths() const noexcept { return static_cast<int>(deaths_.size()); }
    const RestartLimits &limits() const noexcept { return limits_; }

private:
    RestartLimits limits_;
    std::deque<SteadyClock::time_point> deaths_; // oldest first
    std::chrono::milliseconds next_delay_ = limits_.first_delay;
};

} // namespace tr::cli
