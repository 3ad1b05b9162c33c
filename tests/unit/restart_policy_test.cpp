// cli/restart_policy: the launcher's backoff between restarts of a component that died (small,
// doubling, capped, and small again after a healthy run) and its give-up rule (too many deaths
// within the window).
#include "cli/restart_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

namespace tr::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SteadyClock::time_point t0 = SteadyClock::time_point(seconds(1000));

// Limits under which nobody gives up, to watch the delays alone.
RestartLimits patient() {
    RestartLimits limits;
    limits.max_deaths = 1000;
    return limits;
}

TEST(RestartPolicy, DelaysStartSmallAndDoubleUpToTheCap) {
    RestartPolicy policy(patient());
    std::vector<long long> delays;
    SteadyClock::time_point now = t0;
    for (int i = 0; i < 7; ++i) {
        const std::optional<milliseconds> delay = policy.on_death(now - seconds(1), now);
        ASSERT_TRUE(delay);
        delays.push_back(delay->count());
        now += *delay + seconds(1);
    }
    EXPECT_EQ(delays, (std::vector<long long>{250, 500, 1000, 2000, 4000, 4000, 4000}));
}

TEST(RestartPolicy, AComponentThatStayedUpAWhileStartsOverAtTheFirstDelay) {
    RestartPolicy policy(patient());
    ASSERT_EQ(policy.on_death(t0 - seconds(1), t0), milliseconds(250));
    ASSERT_EQ(policy.on_death(t0, t0 + seconds(1)), milliseconds(500));
    ASSERT_EQ(policy.on_death(t0 + seconds(2), t0 + seconds(3)), milliseconds(1000));
    // Up 30 s: it was healthy, this death is a new story.
    EXPECT_EQ(policy.on_death(t0 + seconds(4), t0 + seconds(34)), milliseconds(250));
    EXPECT_EQ(policy.on_death(t0 + seconds(35), t0 + seconds(36)), milliseconds(500));
}

TEST(RestartPolicy, AShortRunDoesNotResetTheDelay) {
    RestartPolicy policy(patient());
    ASSERT_EQ(policy.on_death(t0 - seconds(1), t0), milliseconds(250));
    EXPECT_EQ(policy.on_death(t0, t0 + seconds(29)), milliseconds(500));
}

TEST(RestartPolicy, GivesUpAtTheFifthDeathWithinTheWindow) {
    RestartPolicy policy;
    for (int i = 0; i < 4; ++i) {
        const SteadyClock::time_point died = t0 + seconds(10 * i);
        EXPECT_TRUE(policy.on_death(died - seconds(1), died)) << "death " << i + 1;
        EXPECT_EQ(policy.recent_deaths(), i + 1);
    }
    EXPECT_EQ(policy.on_death(t0 + seconds(40), t0 + seconds(59)), std::nullopt);
    EXPECT_EQ(policy.recent_deaths(), 5);
}

TEST(RestartPolicy, DeathsOlderThanTheWindowNoLongerCount) {
    RestartPolicy policy;
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(policy.on_death(t0 + seconds(i), t0 + seconds(i)));
    // 60 s after the first, that one has left the window: four in it, not five.
    EXPECT_TRUE(policy.on_death(t0 + seconds(59), t0 + seconds(60)));
    EXPECT_EQ(policy.recent_deaths(), 4);
    // A fifth while the other four are still within the window ends it.
    EXPECT_EQ(policy.on_death(t0 + seconds(60), t0 + milliseconds(60500)), std::nullopt);
}

TEST(RestartPolicy, EachPolicyCountsOnlyItsOwnComponent) {
    RestartPolicy handlers, runner;
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(handlers.on_death(t0, t0 + seconds(i)));
        ASSERT_TRUE(runner.on_death(t0, t0 + seconds(i)));
    }
    EXPECT_EQ(handlers.recent_deaths(), 4);
    EXPECT_EQ(runner.recent_deaths(), 4);
}

} // namespace
} // namespace tr::cli
