// runner/sandbox/cgroup: real groups in this machine's hierarchies (root only; elsewhere the
// set-up must say why there are none). A group's limits bind all its processes together, and
// killing it reaches those that left their process group.
#include "runner/sandbox/cgroup.h"

#include "core/process.h"
#include "core/random.h"
#include "test_support.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

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

// cgroup v2's "no internal processes" rule, with the controller these machines' v2 hierarchy
// offers (hugetlb; the others are bound to v1 here): a group holding a process cannot give a
// controller to its children until that process has moved into a leaf, which a runner alone in
// its group (systemd's Delegate=yes) does; with another process there it does not.
class CgroupLeafTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char *mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
            const std::string controllers = std::string(mount) + "/cgroup.controllers";
            if (unified_.empty() && test::exists(controllers) &&
                contains(test::read_text(controllers), "hugetlb"))
                unified_ = mount;
        }
        if (::geteuid() != 0 || unified_.empty())
            GTEST_SKIP() << "needs root and a cgroup v2 hierarchy offering hugetlb";
        // The root hands hugetlb to its children only once asked, and is put back as it was.
        const std::string root_control = unified_ + "/cgroup.subtree_control";
        if (!contains(test::read_text(root_control), "hugetlb")) {
            std::ofstream(root_control) << "+hugetlb" << std::flush;
            enabled_at_root_ = contains(test::read_text(root_control), "hugetlb");
            if (!enabled_at_root_)
                GTEST_SKIP() << "the cgroup v2 root does not hand hugetlb to its children";
        }
        group_ = unified_ + "/task-runner-test.leaf." + random_hex(4);
        ASSERT_EQ(::mkdir(group_.c_str(), 0755), 0) << group_;
    }
    void TearDown() override {
        if (group_.empty())
            return;
        ::rmdir((group_ + "/runner").c_str());
        ::rmdir(group_.c_str());
        if (enabled_at_root_)
            std::ofstream(unified_ + "/cgroup.subtree_control") << "-hugetlb" << std::flush;
    }

    // Runs `body` in a child process that has joined the group, and gives its exit status.
    int in_group(const std::function<bool()> &body) const {
        const pid_t child = ::fork();
        if (child == 0) {
            std::ofstream(group_ + "/cgroup.procs") << ::getpid() << std::flush;
            ::_exit(body() ? 0 : 1);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        return status;
    }

    std::string unified_;
    std::string group_;
    bool enabled_at_root_ = false;
};

// One test, not two: ctest runs tests side by side, and both would turn hugetlb on and off at
// the root.
TEST_F(CgroupLeafTest, AProcessMovesIntoALeafWhenAloneInItsGroupAndLeavesOthersWhereTheyAre) {
    const std::string group = group_;
    const pid_t other = ::fork();
    if (other == 0) {
        std::ofstream(group_ + "/cgroup.procs") << ::getpid() << std::flush;
        ::pause();
        ::_exit(0);
    }
    // Not alone: the other process is in the group once its pid is listed there.
    for (int i = 0;
         i < 500 && !contains(test::read_text(group_ + "/cgroup.procs"), std::to_string(other));
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(in_group([&] {
                  return !enable_controller_for_children(group, "hugetlb") && errno == EBUSY;
              }),
              0);
    ::kill(other, SIGKILL);
    ::waitpid(other, nullptr, 0);
    EXPECT_FALSE(test::exists(group_ + "/runner"));
    EXPECT_FALSE(contains(test::read_text(group_ + "/cgroup.subtree_control"), "hugetlb"));

    // Alone: it moves into the leaf, and the group hands the controller out.
    EXPECT_EQ(in_group([&] {
                  return enable_controller_for_children(group, "hugetlb") &&
                         contains(test::read_text("/proc/self/cgroup"), "/runner\n");
              }),
              0);
    EXPECT_TRUE(contains(test::read_text(group_ + "/cgroup.subtree_control"), "hugetlb"));
}

} // namespace
} // namespace tr::runner
