// runner/sandbox/cgroup: real groups in this machine's hierarchies (root only; elsewhere the
// set-up must say why there are none). A group's limits bind all its processes together, and
// killing it reaches those that left their process group.
#include "runner/sandbox/cgroup.h"

#include "core/process.h"
#include "test_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tr::runner {
namespace {

using test::contains;
using test::read_pipe;

const Log &quiet() {
    static const Log log("cgroup_test", LogLevel::Error);
    return log;
}

class CgroupTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0)
            GTEST_SKIP() << "creating cgroups needs root on these machines";
        cgroups_.emplace(Cgroups::set_up(quiet()));
        if (!cgroups_->available())
            GTEST_SKIP() << "no cgroup hierarchy here: " << cgroups_->description();
    }

    ChildProcess start_in(const TaskCgroup &group, const std::string &command) {
        SpawnSpec spec;
        spec.argv = {"/bin/sh", "-c", command};
        spec.capture_output = true;
        spec.join_cgroups = group.join_fds();
        return ChildProcess::spawn(spec);
    }

    std::optional<Cgroups> cgroups_;
};

TEST_F(CgroupTest, TheProcessLimitBindsEveryProcessOfTheGroupTogether) {
    if (!cgroups_->limits_processes())
        GTEST_SKIP() << cgroups_->description();
    TaskCgroup group = cgroups_->create({256LL << 20, 12, 100});
    // Each of 30 forks keeps running: together they pass 12, one at a time none would. (The
    // shell gives up at the first fork refused.)
    ChildProcess child = start_in(group, "for i in $(seq 1 30); do sleep 4741 & done");
    child.wait();
    EXPECT_TRUE(group.hit_process_limit());
    const auto sleeping = [] {
        int count = 0;
        for (const auto &entry : std::filesystem::directory_iterator("/proc"))
            try {
                count += contains(test::read_text(entry.path() / "cmdline"), "4741");
            } catch (const std::exception &) {
            }
        return count;
    };
    EXPECT_GT(sleeping(), 0);
    EXPECT_LE(sleeping(), 12);
    group.kill_all();
    EXPECT_TRUE(test::wait_until([&] { return sleeping() == 0; }));
}

TEST_F(CgroupTest, KillingTheGroupReachesWhatLeftTheProcessGroup) {
    TaskCgroup group = cgroups_->create({256LL << 20, 64, 100});
    ChildProcess child = start_in(group, "setsid sleep 4742 >/dev/null 2>&1 & echo $!");
    const std::string pid_text = read_pipe(child.stdout_pipe());
    child.wait();
    const pid_t escaped = static_cast<pid_t>(std::stol(pid_text));
    ASSERT_TRUE(test::process_running(escaped));
    group.kill_all();
    EXPECT_TRUE(test::wait_until([&] { return !test::process_running(escaped); }));
}

TEST_F(CgroupTest, TheMemoryLimitIsForAllTheProcessesTogether) {
    if (!cgroups_->limits_memory())
        GTEST_SKIP() << cgroups_->description();
    TaskCgroup group = cgroups_->create({64LL << 20, 64, 100});
    // Three processes of 40 MB: each is under the limit, together they are not.
    const std::string touch =
        "python3 -c \"import time; b = bytearray(40 << 20); b[::4096] = b'x' * len(b[::4096]); "
        "time.sleep(1)\"";
    ChildProcess child = start_in(group, touch + " & " + touch + " & " + touch + " & wait");
    child.wait();
    EXPECT_TRUE(group.hit_memory_limit());
}

TEST_F(CgroupTest, AGroupGoesWithItsOwnerAndTheRunnersGroupsWithTheirs) {
    std::string directory;
    {
        TaskCgroup group = cgroups_->create({64LL << 20, 16, 50});
        ChildProcess child = start_in(group, "cat /proc/self/cgroup");
        const std::string cgroup = read_pipe(child.stdout_pipe());
        child.wait();
        EXPECT_TRUE(contains(cgroup, "/task-runner.")) << cgroup;
        EXPECT_TRUE(contains(cgroup, "/command-")) << cgroup;
        ChildProcess lingering = start_in(group, "exec sleep 4743 >/dev/null 2>&1");
        lingering.stdout_pipe().reset();
        // "8:pids:/task-runner.123.abc/command-def": the group in each hierarchy.
        std::istringstream lines(cgroup);
        std::string line;
        while (std::getline(lines, line))
            if (contains(line, "/command-"))
                directory = line.substr(line.find(":/") + 1);
        ASSERT_FALSE(directory.empty()) << cgroup;
        group.kill_all();
    }
    for (const char *hierarchy : {"pids", "memory", "cpu", "unified"}) {
        if (std::filesystem::is_directory(std::string("/sys/fs/cgroup/") + hierarchy)) {
            EXPECT_FALSE(test::exists("/sys/fs/cgroup/" + std::string(hierarchy) + directory))
                << hierarchy << directory;
        }
    }
}

TEST(CgroupSetUp, TheGroupsOfARunnerThatDiedAreRemoved) {
    if (::geteuid() != 0 || !std::filesystem::is_directory("/sys/fs/cgroup/pids"))
        GTEST_SKIP() << "needs root and the v1 pids hierarchy";
    // pid_max is at most 4194304: no runner ever had this pid.
    const std::string stale = "/sys/fs/cgroup/pids/task-runner.4194399.abcdef";
    ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((stale + "/command-123456").c_str(), 0755), 0);
    { const Cgroups cgroups = Cgroups::set_up(quiet()); }
    EXPECT_FALSE(test::exists(stale));
}

TEST(CgroupSetUp, DescribesWhatItLimitsOrWhyNot) {
    const Cgroups cgroups = Cgroups::set_up(quiet());
    if (cgroups.limits_processes() && cgroups.limits_memory() && cgroups.limits_cpu()) {
        EXPECT_TRUE(contains(cgroups.description(), "pids")) << cgroups.description();
        EXPECT_FALSE(contains(cgroups.description(), "no ")) << cgroups.description();
    } else {
        EXPECT_TRUE(contains(cgroups.description(), "limit (")) << cgroups.description();
    }
}

} // namespace
} // namespace tr::runner
