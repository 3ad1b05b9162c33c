// bubblewrap command lines and the start-up probe.
#include "runner/sandbox/bubblewrap.h"

#include "core/error.h"
#include "core/process.h"

#include <sys/stat.h>
#include <unistd.h>

namespace tr::runner {
namespace {

constexpr const char *bwrap_path = "/usr/bin/bwrap";

// Only what programs need from /etc, not /etc itself: shadow, keys and the service's own
// configuration stay out of sight.
constexpr const char *etc_entries[] = {
    "/etc/passwd",     "/etc/group",           "/etc/nsswitch.conf",  "/etc/ld.so.cache",
    "/etc/ld.so.conf", "/etc/ld.so.conf.d",    "/etc/alternatives",   "/etc/localtime",
    "/etc/timezone",   "/etc/os-release",      "/etc/debian_version", "/etc/mime.types",
    "/etc/ssl",        "/etc/ca-certificates", "/etc/profile",        "/etc/bash.bashrc",
    "/etc/inputrc",    "/etc/magic",           "/etc/python3",        "/etc/perl",
};

bool is_symlink(const char *path) {
    struct stat info {};
    return ::lstat(path, &info) == 0 && S_ISLNK(info.st_mode);
}

void add(std::vector<std::string> &argv, std::initializer_list<std::string> items) {
    argv.insert(argv.end(), items.begin(), items.end());
}

} // namespace

std::vector<std::string> bubblewrap_command(const SandboxLayout &layout,
                                            const std::string &command) {
    std::vector<std::string> argv = {bwrap_path,      "--unshare-all", "--die-with-parent",
                                     "--new-session", "--ro-bind",     "/usr",
                                     "/usr"};
    // On merged-/usr systems (Debian 12) /bin, /lib... are symlinks into /usr; elsewhere they
    // are directories and are bound as such.
    for (const char *top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
        if (is_symlink(top)) {
            char target[256];
            const ssize_t n = ::readlink(top, target, sizeof target - 1);
            if (n > 0)
                add(argv, {"--symlink", std::string(target, static_cast<std::size_t>(n)), top});
        } else {
            add(argv, {"--ro-bind-try", top, top});
        }
    }
    for (const char *entry : etc_entries)
        add(argv, {"--ro-bind-try", entry, entry});
    add(argv, {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
    for (const std::string &path : layout.readable_paths)
        add(argv, {"--ro-bind", path, path});
    add(argv, {"--bind", layout.working_directory, layout.working_directory});
    // bwrap builds the sandbox on a fresh tmpfs root, writable unless remounted: without this,
    // commands could write to /, /etc and any directory created for a bind mount. Last, so
    // every mount point above exists first; /tmp, /dev and the working directory are mounts
    // of their own and stay writable.
    add(argv, {"--remount-ro", "/", "--chdir", layout.working_directory, "--clearenv"});
    for (const auto &[name, value] : layout.environment)
        add(argv, {"--setenv", name, value});
    add(argv, {"--", "/bin/sh", "-c", command});
    return argv;
}

SandboxKind choose_sandbox(const std::string &setting, const Log &log) {
    if (setting == "none")
        return SandboxKind::None;
    std::string problem;
    if (::access(bwrap_path, X_OK) != 0) {
        problem = std::string(bwrap_path) + " is not installed (Debian package bubblewrap)";
    } else {
        try {
            SandboxLayout probe{"/tmp", {}, {{"PATH", "/usr/bin:/bin"}}};
            SpawnSpec spec;
            spec.argv = bubblewrap_command(probe, "exit 0");
            spec.capture_output = true;
            ChildProcess child = ChildProcess::spawn(spec);
            const std::optional<ExitStatus> status = child.wait_for(std::chrono::seconds(10));
            if (!status || !status->exited() || status->code != 0)
                problem = "bwrap cannot create a sandbox here (" +
                          (status ? status->describe() : std::string("no answer in 10 s")) +
                          "; unprivileged user namespaces may be disabled)";
        } catch (const Error &e) {
            problem = e.what();
        }
    }
    if (problem.empty()) {
        log.info("sandbox.ready", {{"kind", "bubblewrap"}});
        return SandboxKind::Bubblewrap;
    }
    if (setting == "bubblewrap")
        throw Error(ErrorCode::InternalError, "tools.sandbox is \"bubblewrap\" but " + problem);
    log.warn(
        "sandbox.unavailable",
        {{"reason", problem}, {"fallback", "process group, resource limits and path checks only"}});
    return SandboxKind::None;
}

} // namespace tr::runner
