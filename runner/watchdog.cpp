// Both ends of the watchdog: the runner's (Watchdog) and the process's loop (run_watchdog).
//
// The pipe carries lines, each written whole by one write(2) (under PIPE_BUF, so lines from
// several threads never interleave):
//   watch ID LEADER V2_DIRECTORY|- WATCHED_DIRECTORY|-
//   forget ID
//   beat
#include "runner/watchdog.h"

#include "core/error.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <map>
#include <sstream>

namespace tr::runner {
namespace {

using SteadyClock = std::chrono::steady_clock;

// pidfd_open(2) (Linux 5.3); glibc 2.36 has no wrapper for it in Debian 12's headers.
int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

bool has_exited(int pidfd) {
    pollfd ready{pidfd, POLLIN, 0};
    return ::poll(&ready, 1, 0) != 0; // readable once the process has exited (or an error)
}

struct WatchedCommand {
    UniqueFd leader; // pidfd
    pid_t pid = 0;
    CgroupKillPaths group;
};

void kill_command(const WatchedCommand &command) {
    // The leader's group only while the leader itself (not a process that took its pid since)
    // is alive: a living leader keeps its group id from being reused.
    if (command.leader.valid() && !has_exited(command.leader.get()))
        ::kill(-command.pid, SIGKILL);
    kill_cgroup_members(command.group);
}

std::string path_or_dash(const std::string &path) {
    return path.empty() ? "-" : path;
}

std::string dash_or_path(const std::string &word) {
    return word == "-" ? "" : word;
}

class WatchdogLoop {
public:
    WatchdogLoop(int fd, std::chrono::milliseconds timeout, const Log &log)
        : fd_(fd), timeout_(timeout), log_(log) {}

    int run() {
        for (;;) {
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                last_beat_ + timeout_ - SteadyClock::now());
            pollfd readable{fd_, POLLIN, 0};
            ::poll(&readable, 1, static_cast<int>(std::max<long long>(wait.count(), 0) + 1));
            if (!read_available()) {
                kill_all("the runner is gone");
                return 0;
            }
            if (SteadyClock::now() - last_beat_ > timeout_ && !commands_.empty())
                kill_all("the runner stopped renewing its leases");
        }
    }

private:
    // Reads and applies every line there is; false at end of file.
    bool read_available() {
        char chunk[4096];
        for (;;) {
            const ssize_t n = ::read(fd_, chunk, sizeof chunk);
            if (n == 0)
                return false;
            if (n < 0)
                return errno == EAGAIN || errno == EINTR;
            pending_.append(chunk, static_cast<std::size_t>(n));
            std::size_t end;
            while ((end = pending_.find('\n')) != std::string::npos) {
                apply(pending_.substr(0, end));
                pending_.erase(0, end + 1);
            }
        }
    }

    void apply(const std::string &line) {
        std::istringstream words(line);
        std::string verb;
        unsigned long long id = 0;
        words >> verb;
        if (verb == "beat") {
            last_beat_ = SteadyClock::now();
        } else if (verb == "forget" && words >> id) {
            commands_.erase(id);
        } else if (verb == "watch") {
            WatchedCommand command;
            std::string v2, watched;
            if (!(words >> id >> command.pid >> v2 >> watched))
                return;
            command.leader = UniqueFd(open_pidfd(command.pid));
            command.group = {dash_or_path(v2), dash_or_path(watched)};
            commands_[id] = std::move(command);
        }
    }

    void kill_all(const char *why) {
        if (commands_.empty())
            return;
        log_.warn("watchdog.killing",
                  {{"why", why}, {"commands", static_cast<int>(commands_.size())}});
        for (const auto &[id, command] : commands_)
            kill_command(command);
        commands_.clear();
    }

    int fd_;
    std::chrono::milliseconds timeout_;
    const Log &log_;
    std::string pending_;
    std::map<unsigned long long, WatchedCommand> commands_;
    SteadyClock::time_point last_beat_ = SteadyClock::now();
};

} // namespace

Watchdog::Watchdog(const std::string &program, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("pipe for the watchdog", errno));
    UniqueFd read_end(ends[0]);
    pipe_ = UniqueFd(ends[1]);
    SpawnSpec spec;
    spec.argv = {program, "--watchdog", "3", "--timeout-ms", std::to_string(timeout.count())};
    spec.inherited_fds = {read_end.get()};
    process_ = ChildProcess::spawn(spec);
    // Never block a worker on a watchdog that stopped reading: a full pipe drops the line.
    ::fcntl(pipe_.get(), F_SETFL, O_NONBLOCK);
}

Watchdog::~Watchdog() {
    pipe_.reset();
    process_.wait_for(std::chrono::seconds(5)); // it kills what is left, then exits
}

void Watchdog::send(const std::string &line) const noexcept {
    ssize_t ignored = ::write(pipe_.get(), line.data(), line.size());
    (void)ignored; // a watchdog that is gone or full cannot be helped from here
}

void Watchdog::beat() const noexcept {
    send("beat\n");
}

Watchdog::Watch Watchdog::watch(pid_t leader, const CgroupKillPaths &group) const {
    const unsigned long long id = next_id_++;
    send("watch " + std::to_string(id) + " " + std::to_string(leader) + " " +
         path_or_dash(group.v2_directory) + " " + path_or_dash(group.watched_directory) + "\n");
    return Watch(this, id);
}

Watchdog::Watch::~Watch() {
    if (watchdog_)
        watchdog_->send("forget " + std::to_string(id_) + "\n");
}

int run_watchdog(int fd, std::chrono::milliseconds timeout, const Log &log) {
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    return WatchdogLoop(fd, timeout, log).run();
}

} // namespace tr::runner
