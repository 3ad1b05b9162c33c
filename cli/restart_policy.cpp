// Backoff and the give-up rule for the launcher's restarts.
#include "cli/restart_policy.h"

#include <algorithm>

namespace tr::cli {

std::optional<std::chrono::milliseconds> RestartPolicy::on_death(SteadyClock::time_point started,
                                                                 SteadyClock::time_point died) {
    while (!deaths_.empty() && died - deaths_.front() >= limits_.window)
        deaths_.pop_front();
    deaths_.push_back(died);
    if (recent_deaths() >= limits_.max_deaths)
        return std::nullopt;
    if (died - started >= limits_.stable_after)
        next_delay_ = limits_.first_delay;
    const std::chrono::milliseconds delay = next_delay_;
    next_delay_ = std::min(next_delay_ * 2, limits_.max_delay);
    return delay;
}

} // namespace tr::cli
