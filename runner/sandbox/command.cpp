// The capture loop: poll(2) on both pipes in short slices, so the deadline and the task's stop
// flags are seen within 50 ms.
#include "runner/sandbox/command.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

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
    for (const auto &[name, value] : environment)
        assignments.push_back(name + "=" + value);
    return assignments;
}

} // namespace

std::vector<std::pair<std::string, std::string>> base_environment(const std::string &home) {
    return {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"},
            {"HOME", home},
            {"LANG", "C.UTF-8"},
            {"TMPDIR", "/tmp"}};
}

CommandResult run_command(const CommandSpec &spec, const TaskControl &control) {
    // Task variables come after the base, so a task may set its own PATH or HOME.
    std::vector<std::pair<std::string, std::string>> environment =
        base_environment(spec.working_directory);
    for (const auto &variable : spec.environment) {
        auto same = std::find_if(environment.begin(), environment.end(),
                                 [&](const auto &entry) { return entry.first == variable.first; });
        if (same != environment.end())
            same->second = variable.second;
        else
            environment.push_back(variable);
    }

    SpawnSpec process;
    process.capture_output = true;
    process.die_with_parent = true;
    process.limits = spec.limits;
    if (spec.sandbox == SandboxKind::Bubblewrap) {
        process.argv = bubblewrap_command(
            {spec.working_directory, spec.readable_paths, environment}, spec.command);
        process.environment = std::vector<std::string>{}; // bwrap itself needs nothing
    } else {
        process.argv = {"/bin/sh", "-c", spec.command};
        process.environment = as_assignments(environment);
        process.working_directory = spec.working_directory;
    }

    CommandResult result;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + spec.timeout;
    ChildProcess child = ChildProcess::spawn(process);
    while (true) {
        read_available(child, result, spec.max_output_bytes, poll_slice_ms);
        if (const std::optional<ExitStatus> status = child.poll()) {
            result.status = *status;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            result.timed_out = true;
            result.status = child.kill_group();
            break;
        }
        if (const std::optional<StopReason> reason = control.stop_reason()) {
            result.stopped = reason;
            result.status = child.kill_group();
            break;
        }
    }
    // What the command left running in the background ends with it, and with it the last
    // writers of the pipes. A process that left the group (setsid) could hold them open for
    // ever, so draining stops after a second regardless.
    child.signal_group(SIGKILL);
    const auto drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while ((child.stdout_pipe().valid() || child.stderr_pipe().valid()) &&
           std::chrono::steady_clock::now() < drain_until)
        read_available(child, result, spec.max_output_bytes, poll_slice_ms);
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    return result;
}

} // namespace tr::runner
