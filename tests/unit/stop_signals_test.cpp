// core/stop_signals: the stop signals blocked where the programs set them up, so that a signal
// waits for the main thread's sigwait and threads started afterwards never take one. Each test
// works in a thread of its own, whose mask dies with it, so the test binary's own stays as it was.
#include "core/stop_signals.h"

#include "core/error.h"

#include <pthread.h>

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace tr {
namespace {

bool blocked_here(int signal) {
    sigset_t current;
    pthread_sigmask(SIG_BLOCK, nullptr, &current);
    return sigismember(&current, signal) == 1;
}

TEST(BlockStopSignals, BlocksTermIntAndHupAndReturnsThatSet) {
    std::thread([] {
        ASSERT_FALSE(blocked_here(SIGTERM));
        const sigset_t signals = block_stop_signals();
        for (const int signal : {SIGTERM, SIGINT, SIGHUP}) {
            EXPECT_EQ(sigismember(&signals, signal), 1) << signal;
            EXPECT_TRUE(blocked_here(signal)) << signal;
        }
        EXPECT_EQ(sigismember(&signals, SIGCHLD), 0);
        EXPECT_FALSE(blocked_here(SIGCHLD));
    }).join();
}

TEST(BlockStopSignals, AddsTheExtraSignalsASupervisorWaitsFor) {
    std::thread([] {
        const sigset_t signals = block_stop_signals({SIGCHLD});
        EXPECT_EQ(sigismember(&signals, SIGCHLD), 1);
        EXPECT_EQ(sigismember(&signals, SIGTERM), 1);
        EXPECT_TRUE(blocked_here(SIGCHLD));
    }).join();
}

// The point of blocking before the threads start: they inherit the mask.
TEST(BlockStopSignals, ThreadsStartedAfterwardsInheritTheMask) {
    std::thread([] {
        block_stop_signals();
        std::thread([] {
            EXPECT_TRUE(blocked_here(SIGTERM));
            EXPECT_TRUE(blocked_here(SIGINT));
            EXPECT_TRUE(blocked_here(SIGHUP));
        }).join();
    }).join();
}

// A stop signal sent before the wait stays pending and is what sigwait then returns, instead
// of killing the process by its default action.
TEST(BlockStopSignals, ASignalSentBeforeTheWaitIsTakenBySigwait) {
    std::thread([] {
        const sigset_t signals = block_stop_signals();
        ASSERT_EQ(pthread_kill(pthread_self(), SIGHUP), 0);
        int taken = 0;
        ASSERT_EQ(sigwait(&signals, &taken), 0);
        EXPECT_EQ(taken, SIGHUP);
    }).join();
}

TEST(BlockStopSignals, RefusesAnInvalidSignalNumber) {
    std::thread([] {
        EXPECT_THROW(block_stop_signals({-1}), Error);
        EXPECT_THROW(block_stop_signals({100000}), Error);
    }).join();
}

} // namespace
} // namespace tr
