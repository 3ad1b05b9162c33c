// runner/watchdog with the real watchdog process (task-runner-runner --watchdog, built next to
// this test) and real process groups: a command is killed when the beats stop or the runner's
// end of the pipe closes, and not while the beats go on.
#include "runner/watchdog.h"

#include "core/process.h"
#include "core/unique_fd.h"
#include "test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace tr::runner {
namespace {

using namespace std::chrono_literals;

std::string runner_program() {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    std::string self(path, n > 0 ? static_cast<std::size_t>(n) : 0);
    return self.substr(0, self.rfind('/')) + "/task-runner-runner";
}

ChildProcess long_command() {
    SpawnSpec spec;
    spec.argv = {"/bin/sh", "-c", "sleep 300 & sleep 300"}; // a leader and one more in its group
    return ChildProcess::spawn(spec);
}

// Whether the command has died, reaping it when so (as the runner would).
bool died(ChildProcess &command) {
    return command.poll().has_value();
}

TEST(WatchdogTest, KillsAWatchedCommandWhenTheBeatsStop) {
    const Watchdog watchdog(runner_program(), 300ms);
    ChildProcess command = long_command();
    const Watchdog::Watch watch = watchdog.watch(command.pid(), {});
    EXPECT_TRUE(test::wait_until([&] { return died(command); }, 5s));
}

TEST(WatchdogTest, LeavesACommandAloneWhileTheBeatsGoOn) {
    const Watchdog watchdog(runner_program(), 400ms);
    ChildProcess command = long_command();
    const Watchdog::Watch watch = watchdog.watch(command.pid(), {});
    const auto until = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < until) {
        watchdog.beat();
        ASSERT_FALSE(died(command));
        std::this_thread::sleep_for(50ms); // the runner's heartbeat, much faster than the timeout
    }
    command.kill_group();
}

// The runner killed: its end of the pipe closes with commands still watched.
TEST(WatchdogTest, KillsEveryWatchedCommandWhenTheRunnersPipeCloses) {
    ChildProcess first = long_command();
    ChildProcess second = long_command();
    int ends[2];
    ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
    UniqueFd read_end(ends[0]), write_end(ends[1]);
    SpawnSpec spec;
    spec.argv = {runner_program(), "--watchdog", "3", "--timeout-ms", "60000"};
    spec.inherited_fds = {read_end.get()};
    ChildProcess watchdog = ChildProcess::spawn(spec);
    read_end.reset();
    const std::string lines = "beat\nwatch 1 " + std::to_string(first.pid()) + " - -\nwatch 2 " +
                              std::to_string(second.pid()) + " - -\n";
    ASSERT_EQ(::write(write_end.get(), lines.data(), lines.size()),
              static_cast<ssize_t>(lines.size()));
    write_end.reset();
    EXPECT_TRUE(test::wait_until([&] { return died(first) && died(second); }, 5s));
    const std::optional<ExitStatus> status = watchdog.wait_for(5s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 0);
}

TEST(WatchdogTest, AForgottenCommandIsNotKilled) {
    const Watchdog watchdog(runner_program(), 300ms);
    ChildProcess forgotten = long_command();
    { const Watchdog::Watch watch = watchdog.watch(forgotten.pid(), {}); }
    // A command watched after it is killed at the time-out, so the watchdog has acted on
    // everything before it by then.
    ChildProcess watched = long_command();
    const Watchdog::Watch watch = watchdog.watch(watched.pid(), {});
    ASSERT_TRUE(test::wait_until([&] { return died(watched); }, 5s));
    EXPECT_FALSE(died(forgotten));
    forgotten.kill_group();
}

} // namespace
} // namespace tr::runner
