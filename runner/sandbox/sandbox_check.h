// Making sure a command's sandbox is the one that was planned. Its paths are strings until
// bubblewrap mounts them, and a task may own directories on the way (a writable path, a .git
// below it): swapped for a symbolic link at the right moment, such a component would make
// bwrap mount whatever the link names, or mount at another place than planned. So every
// mounted path is pinned (an O_PATH descriptor opened without following any link) before bwrap
// starts, bwrap stops before exec (--block-fd), and only when every planned place is the root
// of a mount of the pinned directory (read-only where planned), and every mask an empty file
// or directory, is the command let go. A mount that went elsewhere leaves its place without
// it; one stacked over another's place replaces that one's root: either is caught.
#pragma once

#include "core/unique_fd.h"
#include "runner/sandbox/bubblewrap.h"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tr::runner {

struct PlannedMount {
    std::string place;
    UniqueFd pinned;       // what must be mounted there: the root of the mount at `place`
    bool read_only = true; // and whether that mount must be read-only
};

struct PlannedSandbox {
    std::vector<PlannedMount> mounts;
    std::vector<std::string> null_files;        // /dev/null
    std::vector<std::string> empty_directories; // a tmpfs

    // The pinned descriptor of `path`, or -1.
    int pinned(const std::string &path) const;
};

// Pins every path the layout mounts. Throws Error(InvalidRequest) when one has a symbolic link
// in it or is gone (then nothing ran).
PlannedSandbox pin_layout(const SandboxLayout &layout);

// Called at every turn of the waits below: a task's pulse (task_control.h), as a sandbox can
// take seconds to build on a loaded machine, and its worker is not stalled meanwhile.
using WaitingCallback = std::function<void()>;

// bwrap's --info-fd says which process builds the sandbox; nullopt when bwrap ended first.
std::optional<pid_t> read_sandbox_pid(int info_fd, std::chrono::steady_clock::time_point deadline,
                                      const WaitingCallback &waiting = {});

// Waits until `pid` is blocked reading descriptor `block_fd`: its setup done, the command not
// yet started. False when it ended first, or the deadline passed.
bool wait_for_sandbox(pid_t pid, int block_fd, std::chrono::steady_clock::time_point deadline,
                      const WaitingCallback &waiting = {});

// Compares the root of `pid`, a finished sandbox, with the plan. Throws Error(InternalError)
// naming the first place that is not as planned.
void check_sandbox(pid_t pid, const PlannedSandbox &plan);

} // namespace tr::runner
