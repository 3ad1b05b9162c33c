// core/process: children that lead their own process group, report a failed exec, capture
// output, start with a clean signal state and descriptor table, and never outlive their owner:
// destroying a running ChildProcess kills its whole group.
#include "core/process.h"

#include "core/error.h"
#include "test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace tr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::contains;
using test::read_pipe;
using test::TempDir;

SpawnSpec shell(const std::string &command, bool capture = true) {
    SpawnSpec spec;
    spec.argv = {"/bin/sh", "-c", command};
    spec.capture_output = capture;
    return spec;
}

// Waits for `path` to hold a pid written by a child, and returns it.
pid_t read_pid_file(const std::string &path) {
    pid_t pid = 0;
    const bool written = test::wait_until([&] {
        if (!test::exists(path))
            return false;
        const std::string text = test::read_text(path);
        if (text.empty() || text.back() != '\n')
            return false;
        pid = static_cast<pid_t>(std::stol(text));
        return true;
    });
    EXPECT_TRUE(written) << path;
    return pid;
}

bool reaped(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) < 0 && errno == ECHILD;
}

std::string spawn_error(const SpawnSpec &spec) {
    try {
        ChildProcess::spawn(spec);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InternalError);
        return e.what();
    }
    ADD_FAILURE() << "spawn succeeded";
    return "";
}

TEST(ChildProcess, SpawnAndWaitGiveTheExitCode) {
    ChildProcess child = ChildProcess::spawn(shell("exit 3", false));
    EXPECT_GT(child.pid(), 0);
    const ExitStatus status = child.wait();
    EXPECT_TRUE(status.exited());
    EXPECT_EQ(status.code, 3);
    EXPECT_EQ(status.describe(), "exit code 3");
    EXPECT_FALSE(child.running());
    EXPECT_TRUE(reaped(child.pid()));
}

TEST(ChildProcess, WaitReportsTheSignalThatKilledIt) {
    ChildProcess child = ChildProcess::spawn(shell("kill -TERM $$", false));
    const ExitStatus status = child.wait();
    EXPECT_FALSE(status.exited());
    EXPECT_EQ(status.signal, SIGTERM);
    EXPECT_EQ(status.describe(), "killed by signal 15 (Terminated)");
}

TEST(ChildProcess, AnExecFailureThrowsNamingTheProgram) {
    SpawnSpec spec;
    spec.argv = {"/no/such/program", "arg"};
    EXPECT_EQ(spawn_error(spec), "spawn /no/such/program: No such file or directory");
}

TEST(ChildProcess, ANonExecutableProgramThrowsNamingIt) {
    TempDir dir;
    const std::string script = dir.write("script.sh", "#!/bin/sh\nexit 0\n"); // mode 0644
    SpawnSpec spec;
    spec.argv = {script};
    EXPECT_EQ(spawn_error(spec), "spawn " + script + ": Permission denied");
}

TEST(ChildProcess, AMissingWorkingDirectoryThrowsNamingTheProgram) {
    SpawnSpec spec = shell("exit 0");
    spec.working_directory = "/no/such/directory";
    EXPECT_EQ(spawn_error(spec), "spawn /bin/sh: chdir: No such file or directory");
}

TEST(ChildProcess, AnEmptyArgvIsRefused) {
    EXPECT_EQ(spawn_error(SpawnSpec{}), "spawn: empty argv");
}

TEST(ChildProcess, CapturesStdoutAndStderrSeparately) {
    ChildProcess child = ChildProcess::spawn(shell("echo out; echo err >&2; echo more"));
    ASSERT_TRUE(child.stdout_pipe().valid());
    ASSERT_TRUE(child.stderr_pipe().valid());
    EXPECT_EQ(read_pipe(child.stdout_pipe()), "out\nmore\n");
    EXPECT_EQ(read_pipe(child.stderr_pipe()), "err\n");
    EXPECT_EQ(child.wait().code, 0);
}

TEST(ChildProcess, StdinIsEmptyWhenOutputIsCaptured) {
    ChildProcess child = ChildProcess::spawn(shell("cat; echo done"));
    EXPECT_EQ(read_pipe(child.stdout_pipe()), "done\n"); // cat saw end of file at once
    EXPECT_EQ(child.wait().code, 0);
}

TEST(ChildProcess, WithoutCaptureThereAreNoPipes) {
    ChildProcess child = ChildProcess::spawn(shell("exit 0", false));
    EXPECT_FALSE(child.stdout_pipe().valid());
    EXPECT_FALSE(child.stderr_pipe().valid());
    child.wait();
}

TEST(ChildProcess, GetsExactlyTheEnvironmentGiven) {
    SpawnSpec spec;
    spec.argv = {"/usr/bin/env"};
    spec.capture_output = true;
    spec.environment = std::vector<std::string>{"ONLY=this", "AND=that"};
    ChildProcess child = ChildProcess::spawn(spec);
    EXPECT_EQ(read_pipe(child.stdout_pipe()), "ONLY=this\nAND=that\n");
    child.wait();
}

TEST(ChildProcess, InheritsOurEnvironmentWhenNoneIsGiven) {
    ASSERT_NE(std::getenv("PATH"), nullptr);
    ChildProcess child = ChildProcess::spawn(shell("printf %s \"$PATH\""));
    EXPECT_EQ(read_pipe(child.stdout_pipe()), std::getenv("PATH"));
    child.wait();
}

TEST(ChildProcess, RunsInTheGivenWorkingDirectory) {
    TempDir dir;
    SpawnSpec spec = shell("pwd");
    spec.working_directory = dir.path();
    ChildProcess child = ChildProcess::spawn(spec);
    EXPECT_EQ(read_pipe(child.stdout_pipe()), dir.path() + "\n");
    child.wait();
}

TEST(ChildProcess, LeadsItsOwnProcessGroup) {
    ChildProcess child = ChildProcess::spawn(shell("sleep 100", false));
    EXPECT_EQ(::getpgid(child.pid()), child.pid());
    EXPECT_NE(::getpgid(child.pid()), ::getpgid(0));
    child.kill_group();
}

TEST(ChildProcess, PollAndWaitForDoNotBlockWhileItRuns) {
    ChildProcess child = ChildProcess::spawn(shell("sleep 100", false));
    EXPECT_TRUE(child.running());
    EXPECT_EQ(child.poll(), std::nullopt);
    EXPECT_EQ(child.wait_for(milliseconds(50)), std::nullopt);
    EXPECT_TRUE(child.running());
    child.kill_group();
}

TEST(ChildProcess, WaitForReturnsTheStatusOnceItExits) {
    ChildProcess child = ChildProcess::spawn(shell("exit 4", false));
    const std::optional<ExitStatus> status = child.wait_for(seconds(10));
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 4);
    EXPECT_EQ(child.poll()->code, 4); // remembered after reaping
}

TEST(ChildProcess, KillGroupKillsTheChildAndItsBackgroundGrandchild) {
    TempDir dir;
    ChildProcess child =
        ChildProcess::spawn(shell("sleep 100 & echo $! > " + dir / "pid" + "; wait", false));
    const pid_t grandchild = read_pid_file(dir / "pid");
    ASSERT_TRUE(test::process_running(grandchild));
    const ExitStatus status = child.kill_group();
    EXPECT_EQ(status.signal, SIGKILL);
    EXPECT_FALSE(child.running());
    EXPECT_TRUE(reaped(child.pid()));
    EXPECT_TRUE(test::wait_until([&] { return !test::process_running(grandchild); }));
}

TEST(ChildProcess, TheDestructorKillsTheWholeGroup) {
    TempDir dir;
    pid_t pid = 0;
    pid_t grandchild = 0;
    {
        ChildProcess child =
            ChildProcess::spawn(shell("sleep 100 & echo $! > " + dir / "pid" + "; wait", false));
        pid = child.pid();
        grandchild = read_pid_file(dir / "pid");
        ASSERT_TRUE(test::process_running(grandchild));
    }
    EXPECT_TRUE(reaped(pid)); // killed and reaped, no zombie left behind
    EXPECT_TRUE(test::wait_until([&] { return !test::process_running(grandchild); }));
}

TEST(ChildProcess, SignalGroupReachesMembersThatOutlivedTheLeader) {
    TempDir dir;
    ChildProcess child = ChildProcess::spawn(shell("sleep 100 & echo $! > " + dir / "pid", false));
    const pid_t grandchild = read_pid_file(dir / "pid");
    EXPECT_EQ(child.wait().code, 0); // the leader is gone; its group is not
    ASSERT_TRUE(test::process_running(grandchild));
    child.signal_group(SIGKILL);
    EXPECT_TRUE(test::wait_until([&] { return !test::process_running(grandchild); }));
}

TEST(ChildProcess, MovingTransfersOwnership) {
    ChildProcess first = ChildProcess::spawn(shell("sleep 100", false));
    const pid_t pid = first.pid();
    ChildProcess second(std::move(first));
    EXPECT_EQ(second.pid(), pid);
    EXPECT_FALSE(first.running()); // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(second.running());
    second.kill_group();
}

TEST(ChildProcess, MoveAssignmentOntoARunningChildKillsIt) {
    ChildProcess target = ChildProcess::spawn(shell("sleep 100", false));
    const pid_t old_pid = target.pid();
    target = ChildProcess::spawn(shell("exit 5", false));
    EXPECT_TRUE(reaped(old_pid));
    EXPECT_EQ(target.wait().code, 5);
}

TEST(ChildProcess, AppliesResourceLimits) {
    SpawnSpec spec;
    spec.argv = {"/bin/cat", "/proc/self/limits"};
    spec.capture_output = true;
    spec.limits.cpu_seconds = 7;
    spec.limits.address_space_bytes = 512UL * 1024 * 1024;
    spec.limits.file_size_bytes = 4096;
    spec.limits.processes = 50;
    ChildProcess child = ChildProcess::spawn(spec);
    const std::string limits = read_pipe(child.stdout_pipe());
    child.wait();
    EXPECT_TRUE(contains(limits, "Max cpu time              7                    7")) << limits;
    EXPECT_TRUE(contains(limits, "Max file size             4096                 4096")) << limits;
    EXPECT_TRUE(contains(limits, "Max processes             50                   50")) << limits;
    EXPECT_TRUE(contains(limits, "Max address space         536870912            536870912"))
        << limits;
}

TEST(ChildProcess, AFileSizeLimitStopsAWriteBeyondIt) {
    TempDir dir;
    SpawnSpec spec = shell("head -c 100000 /dev/zero > " + dir / "big");
    spec.limits.file_size_bytes = 1024;
    ChildProcess child = ChildProcess::spawn(spec);
    const ExitStatus status = child.wait();
    EXPECT_FALSE(status.exited() && status.code == 0) << status.describe();
    EXPECT_LE(std::filesystem::file_size(dir / "big"), 1024u);
}

TEST(ChildProcess, StartsWithDefaultSignalsAndNothingBlocked) {
    // Like the runner: its threads block the stop signals, and libfcgi ignores SIGPIPE.
    sigset_t blocked, previous_mask;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &blocked, &previous_mask), 0);
    struct sigaction ignore {
    }, previous_action{};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous_action), 0);

    SpawnSpec spec;
    spec.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
    spec.capture_output = true;
    ChildProcess child = ChildProcess::spawn(spec);
    const std::string status = read_pipe(child.stdout_pipe());
    child.wait();

    ::sigaction(SIGPIPE, &previous_action, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    EXPECT_EQ(status, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(ChildProcess, InheritsNoDescriptorsButItsOwn) {
    TempDir dir;
    const int leaked = ::open((dir / "open.txt").c_str(), O_WRONLY | O_CREAT, 0600); // no O_CLOEXEC
    ASSERT_GE(leaked, 0);
    ASSERT_EQ(::dup2(leaked, 50), 50);
    ChildProcess child = ChildProcess::spawn(shell("if [ -e /proc/$$/fd/50 ] || [ -e /proc/$$/fd/" +
                                                   std::to_string(leaked) +
                                                   " ]; then echo leaked; else echo closed; fi"));
    const std::string answer = read_pipe(child.stdout_pipe());
    child.wait();
    ::close(50);
    ::close(leaked);
    EXPECT_EQ(answer, "closed\n");
}

TEST(ChildProcess, DiesWithTheThreadThatSpawnedItWhenAsked) {
    ChildProcess child;
    std::thread spawner([&child] {
        SpawnSpec spec;
        spec.argv = {"/bin/sleep", "100"};
        spec.die_with_parent = true;
        child = ChildProcess::spawn(spec);
    });
    spawner.join();
    std::optional<ExitStatus> status;
    EXPECT_TRUE(test::wait_until([&] { return (status = child.poll()).has_value(); }));
    ASSERT_TRUE(status);
    EXPECT_EQ(status->signal, SIGKILL);
}

// Processes whose command line contains `marker`, found through /proc (a PID namespace hides
// their inner pids from the child's own output).
std::vector<pid_t> processes_running(const std::string &marker) {
    std::vector<pid_t> found;
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        // A process may end between the listing and the read: its cmdline then reads as empty.
        std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
        std::string command((std::istreambuf_iterator<char>(cmdline)),
                            std::istreambuf_iterator<char>());
        std::replace(command.begin(), command.end(), '\0', ' ');
        if (test::contains(command, marker) && test::process_running(std::stoi(name)))
            found.push_back(std::stoi(name));
    }
    return found;
}

// nginx's workers are not covered by the master's death signal, nor (after setsid) by its
// process group; a PID namespace is what takes them along when the master dies.
TEST(ChildProcess, InItsOwnPidNamespaceItsDeathTakesEveryDescendantAlong) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "a new PID namespace needs CAP_SYS_ADMIN";
    SpawnSpec spec = shell("setsid sleep 4242.25 & sleep 1000", false);
    spec.own_pid_namespace = true;
    ChildProcess child = ChildProcess::spawn(spec);
    ASSERT_TRUE(test::wait_until([] { return !processes_running("sleep 4242.25").empty(); }));
    ::kill(child.pid(), SIGKILL); // the leader alone, not its group
    child.wait();
    EXPECT_TRUE(test::wait_until([] { return processes_running("sleep 4242.25").empty(); }));
}

// What a command's /proc/self/status says of its identity and capabilities.
std::string status_of_child(const SpawnSpec &base) {
    SpawnSpec spec = base;
    spec.argv = {"/bin/sh", "-c",
                 "grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs):' /proc/self/status"};
    spec.capture_output = true;
    ChildProcess child = ChildProcess::spawn(spec);
    const std::string text = read_pipe(child.stdout_pipe());
    child.wait();
    return text;
}

TEST(ChildProcess, RunAsDropsToTheUserWithNoCapabilityInAnySet) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "dropping to another user needs root";
    SpawnSpec spec;
    spec.run_as = Identity{64321, 64322};
    const std::string status = status_of_child(spec);
    EXPECT_TRUE(contains(status, "Uid:\t64321\t64321\t64321\t64321\n")) << status;
    EXPECT_TRUE(contains(status, "Gid:\t64322\t64322\t64322\t64322\n")) << status;
    EXPECT_TRUE(contains(status, "Groups:\t \n")) << status; // none
    for (const char *set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_TRUE(contains(status, std::string(set) + ":\t0000000000000000\n")) << set << status;
}

TEST(ChildProcess, HandsOnChosenDescriptorsAtThreeAndUp) {
    TempDir dir;
    const UniqueFd first(::open(dir.write("a", "first").c_str(), O_RDONLY | O_CLOEXEC));
    const UniqueFd second(::open(dir.write("b", "second").c_str(), O_RDONLY | O_CLOEXEC));
    SpawnSpec spec =
        shell("cat <&3; echo; cat <&4; echo; ls /proc/self/fd | sort -n | tr '\\n' ' '");
    spec.inherited_fds = {second.get(), first.get()};
    ChildProcess child = ChildProcess::spawn(spec);
    const std::string out = read_pipe(child.stdout_pipe());
    EXPECT_EQ(child.wait().code, 0);
    // In the order given; nothing else open but stdio and ls's own directory descriptor.
    EXPECT_TRUE(contains(out, "second\nfirst\n0 1 2 3 4 5 ")) << out;
}

TEST(ChildProcess, WritesZeroToEachCgroupBeforeAnythingElse) {
    int joined[2];
    ASSERT_EQ(::pipe2(joined, O_CLOEXEC), 0);
    UniqueFd read_end(joined[0]), write_end(joined[1]);
    SpawnSpec spec = shell("exit 0", false);
    spec.join_cgroups = {write_end.get()}; // a pipe stands in for cgroup.procs here
    ChildProcess child = ChildProcess::spawn(spec);
    child.wait();
    write_end.reset();
    EXPECT_EQ(read_pipe(read_end), "0");
}

int failing_step(const void *, const char **step) noexcept {
    *step = "the step under test";
    return EACCES;
}

TEST(ChildProcess, AFailedPreparationThrowsNamingItsStep) {
    SpawnSpec spec = shell("exit 0");
    spec.prepare = failing_step;
    EXPECT_EQ(spawn_error(spec), "spawn /bin/sh: the step under test: Permission denied");
}

TEST(ChildProcess, UnderAReaperItCanBeKilledAndTakesItsBackgroundAlong) {
    if (::geteuid() != 0)
        GTEST_SKIP() << "a PID namespace needs root here";
    TempDir dir;
    SpawnSpec spec = shell("sleep 4731 & echo $$; kill -KILL $$");
    spec.own_pid_namespace = true;
    spec.reaper_as_init = true;
    ChildProcess child = ChildProcess::spawn(spec);
    const std::string out = read_pipe(child.stdout_pipe());
    EXPECT_EQ(out, "2\n"); // PID 1 is the reaper
    const ExitStatus status = child.wait();
    EXPECT_EQ(status.code, 128 + SIGKILL); // as a shell reports it
    EXPECT_TRUE(test::wait_until([] {
        std::string found;
        for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
            try {
                if (contains(test::read_text(entry.path() / "cmdline"), "4731"))
                    return false;
            } catch (const std::exception &) {
            }
        }
        return true;
    }));
}

TEST(ExitStatus, DescribesAnExitAndASignal) {
    EXPECT_EQ((ExitStatus{0, 0}).describe(), "exit code 0");
    EXPECT_EQ((ExitStatus{-1, SIGKILL}).describe(), "killed by signal 9 (Killed)");
}

TEST(UniqueFd, ClosesItsDescriptorWhenItGoesAway) {
    int fd = -1;
    {
        UniqueFd owner(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        fd = owner.get();
        ASSERT_TRUE(owner.valid());
        EXPECT_NE(::fcntl(fd, F_GETFD), -1);
    }
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, ReleaseGivesUpOwnershipAndMoveTransfersIt) {
    UniqueFd first(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const int fd = first.get();
    UniqueFd second(std::move(first));
    EXPECT_FALSE(first.valid()); // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(second.get(), fd);
    const int released = second.release();
    EXPECT_FALSE(second.valid());
    EXPECT_NE(::fcntl(released, F_GETFD), -1); // still open: now ours to close
    ::close(released);
}

} // namespace
} // namespace tr
