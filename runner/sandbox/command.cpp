// Preparing the child (its group, its sandbox or namespaces, its descriptors), then the capture
// loop: poll(2) on both pipes in short slices, so the deadline and the task's stop flags are
// seen within 50 ms.
#include "runner/sandbox/command.h"

#include "core/error.h"
#include "core/paths.h"
#include "runner/sandbox/beneath.h"
#include "runner/sandbox/bubblewrap.h"
#include "runner/sandbox/idmap.h"
#include "runner/sandbox/sandbox_check.h"
#include "runner/watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>

namespace tr::runner {
namespace {

constexpr int poll_slice_ms = 50;

// Reads what is available; false at end of file.
bool drain(UniqueFd &fd, CapturedStream &stream, std::size_t cap) {
    char buffer[16384];
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        fd.reset();
        return false;
    }
    const auto count = static_cast<std::size_t>(n);
    stream.total_bytes += count;
    if (stream.text.size() < cap)
        stream.text.append(buffer, std::min(count, cap - stream.text.size()));
    if (stream.total_bytes > cap)
        stream.truncated = true;
    return true;
}

void read_available(ChildProcess &child, CommandResult &result, std::size_t cap, int wait_ms) {
    pollfd fds[2];
    nfds_t count = 0;
    if (child.stdout_pipe().valid())
        fds[count++] = {child.stdout_pipe().get(), POLLIN, 0};
    if (child.stderr_pipe().valid())
        fds[count++] = {child.stderr_pipe().get(), POLLIN, 0};
    if (count == 0) {
        if (wait_ms > 0)
            ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
        return;
    }
    if (::poll(fds, count, wait_ms) <= 0)
        return;
    for (nfds_t i = 0; i < count; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (fds[i].fd == child.stdout_pipe().get())
            drain(child.stdout_pipe(), result.out, cap);
        else
            drain(child.stderr_pipe(), result.err, cap);
    }
}

std::vector<std::string>
as_assignments(const std::vector<std::pair<std::string, std::string>> &environment) {
    std::vector<std::string> assignments;
    assignments.reserve(environment.size());
    for (const auto &[name, value] : environment)
        assignments.emplace_back(name).append("=").append(value);
    return assignments;
}

// The .git entries (repositories and worktree links) at most three levels below the writable
// roots, so a command can neither plant hooks nor rewrite history there. Bounded, and closed
// when the bound is reached: a tree padded with directories gets its command refused, never a
// .git left out.
constexpr std::size_t max_directories_walked = 20000;

std::vector<std::string> git_entries(const std::vector<std::string> &roots) {
    std::vector<std::string> found;
    std::vector<std::string> level = roots;
    std::size_t walked = 0;
    for (int depth = 0; depth <= 3 && !level.empty(); ++depth) {
        std::vector<std::string> next;
        for (const std::string &directory : level) {
            if (walked++ >= max_directories_walked)
                throw Error(ErrorCode::InvalidRequest,
                            "the writable paths hold more than " +
                                std::to_string(max_directories_walked) +
                                " directories within three levels, too many to find every .git "
                                "directory to protect; the command did not run (remove some)");
            std::unique_ptr<DIR, int (*)(DIR *)> dir(::opendir(directory.c_str()), ::closedir);
            if (!dir)
                continue;
            while (const dirent *entry = ::readdir(dir.get())) {
                const std::string name = entry->d_name;
                if (name == "." || name == "..")
                    continue;
                if (name == ".git")
                    found.push_back(join_path(directory, name));
                else if (entry->d_type == DT_DIR)
                    next.push_back(join_path(directory, name));
            }
        }
        level = std::move(next);
    }
    return found;
}

// Where HOME points: the working directory when the task may write it, else a place it may.
std::string home_for(const CommandSpec &spec) {
    if (is_within_any(spec.working_directory, spec.writable_paths))
        return spec.working_directory;
    return spec.writable_paths.empty() ? "/tmp" : spec.writable_paths.front();
}

SandboxLayout layout_for(const CommandSpec &spec, const Sandbox &sandbox,
                         std::vector<std::pair<std::string, std::string>> environment) {
    SandboxLayout layout;
    layout.working_directory = spec.working_directory;
    // One mount a place: a readable path inside a writable one is in that one's mount.
    for (const std::string &path : spec.readable_paths)
        if (!is_within_any(path, spec.writable_paths))
            layout.readable.push_back(path);
    layout.writable = spec.writable_paths;
    layout.environment = std::move(environment);
    layout.network = sandbox.tools().network == "host";
    layout.tmp_bytes = sandbox.tools().max_task_write_bytes;
    layout.drop_to = sandbox.drop_to();
    std::vector<std::string> bound = spec.readable_paths;
    bound.insert(bound.end(), spec.writable_paths.begin(), spec.writable_paths.end());
    const ProtectedPaths &guarded = sandbox.protected_paths();
    for (const std::string &file : guarded.secret_files)
        if (is_within_any(file, bound) && path_exists(file))
            layout.hidden_files.push_back(file);
    for (const std::string &directory : guarded.secret_directories)
        if (is_within_any(directory, bound) && path_exists(directory))
            layout.hidden_directories.push_back(directory);
    for (const std::string &directory : guarded.read_only)
        if (is_within_any(directory, spec.writable_paths) && path_exists(directory))
            layout.read_only.push_back(directory);
    // A writable path that is itself a .git, or inside one (a narrowed grant), is read-only.
    for (const std::string &path : spec.writable_paths)
        if (has_git_component(path))
            layout.read_only.push_back(path);
    for (std::string &git : git_entries(spec.writable_paths))
        layout.read_only.push_back(std::move(git));
    return layout;
}

// A sealed-off copy of `text` to hand a child as a descriptor (bwrap reads it to the end).
UniqueFd data_file(const std::string &text, const char *name) {
    UniqueFd file(::memfd_create(name, MFD_CLOEXEC));
    if (!file.valid() ||
        ::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::lseek(file.get(), 0, SEEK_SET) != 0)
        throw Error(ErrorCode::InternalError,
                    system_error_text(std::string("memfd ") + name, errno));
    return file;
}

// The environment a command starts with: the base, then the task's variables over it (a task
// may set its own PATH or HOME).
std::vector<std::pair<std::string, std::string>> command_environment(const CommandSpec &spec) {
    std::vector<std::pair<std::string, std::string>> environment = base_environment(home_for(spec));
    for (const auto &variable : spec.environment) {
        auto same = std::find_if(environment.begin(), environment.end(),
                                 [&](const auto &entry) { return entry.first == variable.first; });
        if (same != environment.end())
            same->second = variable.second;
        else
            environment.push_back(variable);
    }
    return environment;
}

// Paths idmapped for the sandbox user (root only): the writable ones, and with bubblewrap the
// readable ones too (it binds those read-only; without it nothing else would). None inside
// another: it is idmapped through that one already, and cannot be twice.
std::vector<std::string> idmapped_paths(const CommandSpec &spec, bool bubblewrap) {
    std::vector<std::string> paths = spec.writable_paths;
    if (bubblewrap)
        paths.insert(paths.end(), spec.readable_paths.begin(), spec.readable_paths.end());
    std::sort(paths.begin(), paths.end());
    std::vector<std::string> outermost;
    for (const std::string &path : paths)
        if (!is_within_any(path, outermost))
            outermost.push_back(path);
    return outermost;
}

// Everything a command's child needs, made before the fork and kept until bwrap has been let
// go: the spawn spec, what the child mounts, the pinned paths, the descriptors it inherits.
// Neither copied nor moved: the spec points into it.
class CommandLaunch {
public:
    CommandLaunch(const CommandSpec &spec, const Sandbox &sandbox, const TaskCgroup &group)
        : bubblewrap_(sandbox.kind() == SandboxKind::Bubblewrap) {
        const std::vector<std::pair<std::string, std::string>> environment =
            command_environment(spec);
        set_limits(spec, sandbox.tools(), sandbox.cgroups());
        process_.capture_output = true;
        process_.die_with_parent = true;
        process_.join_cgroups = group.join_fds();
        SandboxLayout layout = layout_for(spec, sandbox, environment);
        if (bubblewrap_)
            plan_ = pin_layout(layout); // what bwrap mounts, pinned now (sandbox_check.h)
        if (sandbox.idmap_namespace() >= 0)
            idmap(spec, sandbox.idmap_namespace());
        if (bubblewrap_)
            confine_in_bubblewrap(spec, sandbox, layout);
        else
            confine_without_bubblewrap(spec, sandbox, layout, environment);
        for (const UniqueFd &fd : handed_)
            process_.inherited_fds.push_back(fd.get());
        if (mounts_.fresh_proc || !mounts_.idmapped.empty()) {
            process_.prepare = prepare_child_mounts;
            process_.prepare_context = &mounts_;
        }
    }
    CommandLaunch(const CommandLaunch &) = delete;
    CommandLaunch &operator=(const CommandLaunch &) = delete;

    // Spawns the child and, with bubblewrap, lets it start the command only once the sandbox
    // is as planned; kills it (and throws Error naming the difference) when it is not.
    // `spawned` sees the child before bwrap is let go to start the command.
    ChildProcess start(std::chrono::steady_clock::time_point deadline,
                       const std::function<void(const ChildProcess &)> &spawned,
                       const WaitingCallback &waiting) {
        ChildProcess child = ChildProcess::spawn(process_);
        spawned(child);
        handed_.clear();
        pins_.clear();
        if (!plan_)
            return child;
        const std::optional<pid_t> builder =
            read_sandbox_pid(sandbox_info_.get(), deadline, waiting);
        bool as_planned = false;
        try {
            as_planned = builder && wait_for_sandbox(*builder, block_fd, deadline, waiting);
            if (as_planned)
                check_sandbox(*builder, *plan_);
        } catch (const Error &) {
            child.kill_group(); // a closed pipe would let bwrap go on: only a kill stops it
            throw;
        }
        if (as_planned)
            as_planned = ::write(release_.get(), "x", 1) == 1;
        if (!as_planned)
            child.kill_group(); // bwrap failed (its stderr says why) or took too long
        return child;
    }

private:
    // Descriptor numbers in the child (SpawnSpec::inherited_fds, in order).
    static constexpr int seccomp_fd = 3, passwd_fd = 4, group_fd = 5, block_fd = 6, info_fd = 7;

    void set_limits(const CommandSpec &spec, const ToolsConfig &tools, const Cgroups &cgroups) {
        process_.limits.cpu_seconds =
            static_cast<unsigned long>(
                std::chrono::ceil<std::chrono::seconds>(spec.timeout).count()) +
            1;
        process_.limits.file_size_bytes = static_cast<unsigned long>(tools.max_task_write_bytes);
        // Per process, and RLIMIT_NPROC per uid: only where no group limits the task as a whole.
        if (!cgroups.limits_memory())
            process_.limits.address_space_bytes =
                static_cast<unsigned long>(tools.memory_limit_mb) * 1024 * 1024;
        if (!cgroups.limits_processes())
            process_.limits.processes = static_cast<unsigned long>(tools.max_processes);
    }

    void idmap(const CommandSpec &spec, int idmap_namespace) {
        mounts_.idmap_namespace = idmap_namespace;
        mounts_.idmapped = idmapped_paths(spec, bubblewrap_);
        for (const std::string &path : mounts_.idmapped) {
            int fd = plan_ ? plan_->pinned(path) : -1;
            if (fd < 0) {
                pins_.push_back(pin_path(path));
                fd = pins_.back().get();
            }
            mounts_.idmapped_fds.push_back(fd);
        }
    }

    void confine_in_bubblewrap(const CommandSpec &spec, const Sandbox &sandbox,
                               SandboxLayout &layout) {
        int block[2], info[2];
        if (::pipe2(block, O_CLOEXEC) != 0)
            throw Error(ErrorCode::InternalError, system_error_text("pipe2", errno));
        release_ = UniqueFd(block[1]);
        UniqueFd block_read(block[0]);
        if (::pipe2(info, O_CLOEXEC) != 0)
            throw Error(ErrorCode::InternalError, system_error_text("pipe2", errno));
        sandbox_info_ = UniqueFd(info[0]);
        handed_.push_back(sandbox.seccomp().as_file());
        handed_.push_back(data_file(sandbox.passwd(), "passwd"));
        handed_.push_back(data_file(sandbox.group(), "group"));
        handed_.push_back(std::move(block_read));
        handed_.emplace_back(info[1]);
        layout.seccomp_fd = seccomp_fd;
        layout.passwd_fd = passwd_fd;
        layout.group_fd = group_fd;
        layout.block_fd = block_fd;
        layout.info_fd = info_fd;
        process_.argv = bubblewrap_command(layout, spec.command);
        process_.environment = std::vector<std::string>{}; // bwrap itself needs nothing
    }

    void confine_without_bubblewrap(
        const CommandSpec &spec, const Sandbox &sandbox, const SandboxLayout &layout,
        const std::vector<std::pair<std::string, std::string>> &environment) {
        process_.argv = {"/bin/sh", "-c", spec.command};
        process_.environment = as_assignments(environment);
        process_.working_directory = spec.working_directory;
        process_.seccomp = sandbox.seccomp().program();
        if (!sandbox.drop_to())
            return;
        // Without bubblewrap, root can still give the command namespaces of its own: a PID
        // namespace (everything dies with it, and no other process is in reach), no network,
        // and a /proc that shows only its own processes.
        process_.run_as = sandbox.drop_to();
        process_.own_pid_namespace = true;
        process_.reaper_as_init = true;
        process_.own_network_namespace = sandbox.tools().network != "host";
        // The whole host is in view here, not only the grants: every secret is masked.
        mounts_.fresh_proc = true;
        for (const std::string &file : sandbox.protected_paths().secret_files)
            if (path_exists(file))
                mounts_.hidden_files.push_back(file);
        for (const std::string &directory : sandbox.protected_paths().secret_directories)
            if (path_exists(directory))
                mounts_.hidden_directories.push_back(directory);
        mounts_.read_only = layout.read_only;
    }

    bool bubblewrap_;
    SpawnSpec process_;
    ChildMounts mounts_;
    std::optional<PlannedSandbox> plan_;
    std::vector<UniqueFd> pins_;   // idmapped paths bwrap does not mount (no bubblewrap)
    std::vector<UniqueFd> handed_; // until spawn returns, after the child's exec
    UniqueFd release_;             // a byte here lets bwrap start the command
    UniqueFd sandbox_info_;        // bwrap says here which process builds the sandbox
};

} // namespace

std::vector<std::pair<std::string, std::string>> base_environment(const std::string &home) {
    return {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"},
            {"HOME", home},
            {"LANG", "C.UTF-8"},
            {"TMPDIR", "/tmp"}};
}

namespace {

// Reads the command's output until it exits, its time is up or its task is stopped.
void wait_for_exit(ChildProcess &child, CommandResult &result, const CommandSpec &spec,
                   std::chrono::steady_clock::time_point deadline, const TaskControl &control) {
    while (true) {
        read_available(child, result, spec.max_output_bytes, poll_slice_ms);
        if (const std::optional<ExitStatus> status = child.poll()) {
            result.status = *status;
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            result.timed_out = true;
            result.status = child.kill_group();
            return;
        }
        if (const std::optional<StopReason> reason = control.stop_reason()) {
            result.stopped = reason;
            result.status = child.kill_group();
            return;
        }
    }
}

void note_limits_reached(const TaskCgroup &group, const ToolsConfig &tools, CommandResult &result) {
    if (group.hit_memory_limit())
        result.limits_reached.push_back("the task's memory limit of " +
                                        std::to_string(tools.memory_limit_mb) +
                                        " MB (tools.memory_limit_mb): a process was killed");
    if (group.hit_process_limit())
        result.limits_reached.push_back("the task's limit of " +
                                        std::to_string(tools.max_processes) +
                                        " processes (tools.max_processes): a fork was refused");
}

} // namespace

CommandResult run_command(const CommandSpec &spec, const Sandbox &sandbox,
                          const TaskControl &control) {
    const ToolsConfig &tools = sandbox.tools();
    const Cgroups &cgroups = sandbox.cgroups();
    // Declared before the child, so destroyed after it: the group outlives the last process.
    TaskCgroup group;
    if (cgroups.available())
        group = cgroups.create({static_cast<long long>(tools.memory_limit_mb) * 1024 * 1024,
                                tools.max_processes, tools.cpu_quota_percent});
    CommandLaunch launch(spec, sandbox, group);
    CommandResult result;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + spec.timeout;
    // Declared after the group and before the child: the watchdog knows the command before it
    // can run, and forgets it only after the child is reaped (its pidfd tells it apart).
    std::optional<Watchdog::Watch> watched;
    ChildProcess child = launch.start(
        std::min(deadline, started + std::chrono::seconds(20)),
        [&](const ChildProcess &spawned) {
            if (const Watchdog *watchdog = sandbox.watchdog())
                watched.emplace(watchdog->watch(spawned.pid(), group.kill_paths()));
        },
        [&control] { control.pulse(); });
    wait_for_exit(child, result, spec, deadline, control);
    // What the command left running in the background ends with it, and with it the last
    // writers of the pipes: its process group, and its cgroup for what left the group (setsid,
    // a double fork). Without a cgroup such a process could hold the pipes open for ever, so
    // draining stops after a second regardless.
    child.signal_group(SIGKILL);
    group.kill_all();
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while ((child.stdout_pipe().valid() || child.stderr_pipe().valid()) &&
           std::chrono::steady_clock::now() < drain_until)
        read_available(child, result, spec.max_output_bytes, poll_slice_ms);
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    note_limits_reached(group, tools, result);
    return result;
}

} // namespace tr::runner
