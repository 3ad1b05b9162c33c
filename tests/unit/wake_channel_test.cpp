// core/wake_channel: a runner's socket in the directory beside the database is woken by one
// byte from any sender; a killed runner's socket is removed by the next sender; a directory
// that is a link, another user's or open to other users is refused by both ends. Real sockets
// in a temporary directory, real child processes for the killed runner.
#include "core/wake_channel.h"

#include "core/error.h"
#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

bool readable(const WakeListener &listener, int timeout_ms = 0) {
    pollfd wait{listener.fd(), POLLIN, 0};
    return ::poll(&wait, 1, timeout_ms) == 1 && (wait.revents & POLLIN);
}

class WakeChannelTest : public ::testing::Test {
protected:
    WakeChannelTest()
        : directory_(dir_ / "task-runner.db-wake"),
          log_fd_(
              ::open((dir_ / "wake.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)),
          log_("fcgi", LogLevel::Info, log_fd_.get()) {}

    std::string logged() const { return test::read_text(dir_ / "wake.log"); }

    TempDir dir_;
    std::string directory_;
    UniqueFd log_fd_;
    Log log_;
};

TEST_F(WakeChannelTest, AWakeReachesTheListenerAndDrainEmptiesIt) {
    WakeListener listener(directory_, "runner-1");
    EXPECT_EQ(listener.path(), directory_ + "/runner-1.sock");
    EXPECT_FALSE(readable(listener));
    EXPECT_FALSE(listener.drain());
    RunnerWaker waker(directory_, log_);
    waker.wake();
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
    EXPECT_TRUE(readable(listener, 5000));
    EXPECT_TRUE(listener.drain());
    EXPECT_FALSE(listener.drain()); // both bytes gone at once
    EXPECT_FALSE(readable(listener));
}

TEST_F(WakeChannelTest, AnEntryThatCannotBeReachedLeavesTheOthersWoken) {
    WakeListener reachable(directory_, "runner-1");
    {
        // A socket renamed to a name too long for any address: it cannot be sent to, and must
        // neither hide the other runners nor stop the wakes that follow.
        const WakeListener odd(directory_, "runner-2");
        ASSERT_EQ(::rename(odd.path().c_str(),
                           (directory_ + "/" + std::string(200, 'x') + ".sock").c_str()),
                  0);
        RunnerWaker waker(directory_, log_);
        waker.wake();
        EXPECT_EQ(waker.reached(), 1);
        waker.wake();
        EXPECT_EQ(waker.reached(), 1);
    }
    EXPECT_TRUE(reachable.drain());
}

TEST_F(WakeChannelTest, TheDirectoryIsMadeForItsOwnerAlone) {
    const WakeListener listener(directory_, "runner-1");
    struct stat info {};
    ASSERT_EQ(::lstat(directory_.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
    EXPECT_EQ(info.st_mode & 07777, 0700u);
    EXPECT_EQ(info.st_uid, ::geteuid());
}

TEST_F(WakeChannelTest, AListenerRemovesItsSocketAndIsNoLongerWoken) {
    RunnerWaker waker(directory_, log_);
    {
        const WakeListener listener(directory_, "runner-1");
        waker.wake();
        EXPECT_EQ(waker.reached(), 1);
    }
    EXPECT_FALSE(test::exists(directory_ + "/runner-1.sock"));
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_TRUE(test::exists(directory_)); // the directory stays: others meet there
}

TEST_F(WakeChannelTest, WithoutTheDirectoryThereIsNobodyToWakeAndNothingIsMade) {
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_FALSE(test::exists(directory_)); // only a listener makes it
    EXPECT_FALSE(contains(logged(), "wake.refused"));
}

TEST_F(WakeChannelTest, EveryOneOfManyRunnersIsWokenByOneWake) {
    std::vector<std::unique_ptr<WakeListener>> listeners;
    listeners.reserve(40);
    for (int i = 0; i < 40; ++i)
        listeners.push_back(
            std::make_unique<WakeListener>(directory_, "runner-" + std::to_string(i)));
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 40);
    for (const auto &listener : listeners)
        EXPECT_TRUE(readable(*listener, 5000)) << listener->path();
}

// The sender lists the directory again only when it changes; a runner that starts just after a
// listing, within one tick of the file timestamps' clock, must still be found at the next wake.
TEST_F(WakeChannelTest, ARunnerThatJustStartedIsWokenByTheVeryNextWake) {
    RunnerWaker waker(directory_, log_);
    std::vector<std::unique_ptr<WakeListener>> listeners;
    listeners.reserve(50);
    for (int i = 0; i < 50; ++i) {
        listeners.push_back(
            std::make_unique<WakeListener>(directory_, "runner-" + std::to_string(i)));
        waker.wake();
        ASSERT_EQ(waker.reached(), i + 1);
        ASSERT_TRUE(readable(*listeners.back(), 5000)) << i;
    }
}

// What a runner killed with SIGKILL leaves: its socket file, with nobody reading it.
TEST_F(WakeChannelTest, AKilledRunnersSocketIsRemovedByTheNextWake) {
    RunnerWaker waker(directory_, log_);
    const WakeListener survivor(directory_, "survivor");
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const WakeListener doomed(directory_, "doomed");
        ::kill(::getpid(), SIGKILL); // no destructor runs
        ::_exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_TRUE(test::exists(directory_ + "/doomed.sock"));
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
    EXPECT_FALSE(test::exists(directory_ + "/doomed.sock"));
    EXPECT_TRUE(readable(survivor, 5000));
}

// Killed after the sender had connected to it: the send itself says nobody reads it any more.
TEST_F(WakeChannelTest, ARunnerKilledAfterItWasWokenHasItsSocketRemovedToo) {
    RunnerWaker waker(directory_, log_);
    UniqueFd ready_read, ready_write;
    {
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        ready_read.reset(fds[0]);
        ready_write.reset(fds[1]);
    }
    UniqueFd go_read, go_write;
    {
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        go_read.reset(fds[0]);
        go_write.reset(fds[1]);
    }
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const WakeListener doomed(directory_, "doomed");
        char byte = 'r';
        if (::write(ready_write.get(), &byte, 1) != 1 || ::read(go_read.get(), &byte, 1) != 1)
            ::_exit(2);
        ::kill(::getpid(), SIGKILL);
        ::_exit(1);
    }
    char byte = 0;
    ASSERT_EQ(::read(ready_read.get(), &byte, 1), 1);
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
    ASSERT_EQ(::write(go_write.get(), &byte, 1), 1);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(test::exists(directory_ + "/doomed.sock"));
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_FALSE(test::exists(directory_ + "/doomed.sock"));
}

// A runner that stops reading (stopped, stuck) fills its own queue of wakes; the sender neither
// blocks nor stops reaching the others.
TEST_F(WakeChannelTest, ARunnerThatNeverReadsNeitherBlocksTheSenderNorHidesTheOthers) {
    const WakeListener stuck(directory_, "stuck");
    WakeListener awake(directory_, "awake");
    RunnerWaker waker(directory_, log_);
    for (int i = 0; i < 5000; ++i) {
        waker.wake();
        ASSERT_EQ(waker.reached(), 2) << i;
        ASSERT_TRUE(readable(awake, 5000)) << i;
        awake.drain();
    }
    EXPECT_TRUE(readable(stuck));
}

TEST_F(WakeChannelTest, ASymlinkedDirectoryIsRefusedByBothEnds) {
    const std::string real = dir_.make_dir("elsewhere");
    ASSERT_EQ(::chmod(real.c_str(), 0700), 0);
    const WakeListener there(real, "runner-1");
    ASSERT_EQ(::symlink(real.c_str(), directory_.c_str()), 0);
    try {
        const WakeListener listener(directory_, "runner-2");
        FAIL() << "a symlinked directory was accepted";
    } catch (const Error &e) {
        EXPECT_TRUE(contains(e.what(), "is a symbolic link")) << e.what();
        EXPECT_TRUE(contains(e.what(), directory_)) << e.what();
    }
    RunnerWaker waker(directory_, log_);
    waker.wake();
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_FALSE(readable(there));
    const std::string log = logged();
    EXPECT_TRUE(contains(log, "event=wake.refused")) << log;
    EXPECT_EQ(log.find("wake.refused"), log.rfind("wake.refused")) << log; // said once
}

TEST_F(WakeChannelTest, ADirectoryOtherUsersMayEnterIsRefused) {
    ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(directory_.c_str(), 0733), 0); // others may plant sockets here
    try {
        const WakeListener listener(directory_, "runner-1");
        FAIL() << "a directory of mode 0733 was accepted";
    } catch (const Error &e) {
        EXPECT_TRUE(contains(e.what(), "mode 0733")) << e.what();
    }
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_TRUE(contains(logged(), "mode 0733"));
    // Put right, it is used again at the next wake, without a restart.
    ASSERT_EQ(::chmod(directory_.c_str(), 0700), 0);
    const WakeListener listener(directory_, "runner-1");
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
}

TEST_F(WakeChannelTest, AnotherUsersDirectoryIsRefused) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "giving the directory to another user needs root";
    ASSERT_EQ(::mkdir(directory_.c_str(), 0700), 0);
    ASSERT_EQ(::chown(directory_.c_str(), 65534, 65534), 0);
    try {
        const WakeListener listener(directory_, "runner-1");
        FAIL() << "another user's directory was accepted";
    } catch (const Error &e) {
        EXPECT_TRUE(contains(e.what(), "belongs to uid 65534")) << e.what();
    }
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
    EXPECT_TRUE(contains(logged(), "belongs to uid 65534"));
}

TEST_F(WakeChannelTest, AFileInPlaceOfTheDirectoryIsRefused) {
    dir_.write("task-runner.db-wake", "not a directory");
    EXPECT_THROW(WakeListener(directory_, "runner-1"), Error);
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 0);
}

TEST_F(WakeChannelTest, ASocketNameMustBeOneHarmlessPathComponent) {
    for (const char *name : {"", "../escape", "a/b", ".hidden"})
        EXPECT_THROW(WakeListener(directory_, name), Error) << name;
    EXPECT_FALSE(test::exists(dir_ / "escape.sock"));
}

// What is not a runner's socket is left alone: files, links, sockets of other names.
TEST_F(WakeChannelTest, OnlySocketsNamedAsRunnersAreWokenOrRemoved) {
    const WakeListener listener(directory_, "runner-1");
    const std::string file = directory_ + "/notes.sock";
    dir_.write("task-runner.db-wake/notes.sock", "a file, not a socket");
    const std::string target = dir_.make_dir("target");
    ASSERT_EQ(::symlink((target + "/x.sock").c_str(), (directory_ + "/link.sock").c_str()), 0);
    RunnerWaker waker(directory_, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
    EXPECT_TRUE(test::exists(file));
    EXPECT_TRUE(test::exists(directory_ + "/link.sock"));
}

TEST_F(WakeChannelTest, ADirectoryTooDeepForSunPathStillWorks) {
    std::string relative = "deep";
    while ((dir_ / relative).size() < 200)
        relative += "/a-rather-long-directory";
    const std::string directory = dir_.make_dir(relative) + "/task-runner.db-wake";
    const WakeListener listener(directory, "runner-1");
    RunnerWaker waker(directory, log_);
    waker.wake();
    EXPECT_EQ(waker.reached(), 1);
    EXPECT_TRUE(readable(listener, 5000));
}

TEST(WakeDirectory, LiesBesideTheDatabaseWithItsDirectoryResolved) {
    TempDir dir;
    const std::string real = dir.make_dir("data");
    ASSERT_EQ(::symlink(real.c_str(), (dir / "link").c_str()), 0);
    EXPECT_EQ(wake_directory(dir / "data/task-runner.db"), real + "/task-runner.db-wake");
    EXPECT_EQ(wake_directory(dir / "link/task-runner.db"), real + "/task-runner.db-wake");
    EXPECT_EQ(wake_directory(dir / "missing/x.db"), dir / "missing/x.db-wake");
}

} // namespace
} // namespace tr
