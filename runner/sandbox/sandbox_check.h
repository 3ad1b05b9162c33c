// Making sure a command's sandbox is the one that was planned. Its paths are strings until
// bubblewrap mounts them, and a task may own directories on the way (a writable path, a .git
// below it): swapped for a symbolic link at the right moment, such a component would make
// bwrap mount whatever the link names. So every mounted path is pinned (an O_PATH descriptor
// opened without following any link) before bwrap starts, bwrap stops before exec (--block-fd),
// and only when every place in the sandbox holds the pinned directory, an empty file or an
// empty directory as planned is the command let go.
#pragma once

#include "core/unique_fd.h"
#include "runner/sandbox/bubblewrap.h"

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace tr::runner {

struct PlannedSandbox {
    std::vector<std::pair<std::string, UniqueFd>> mounts; // place -> what must be there
    std::vector<std::string> null_files;                  // /dev/null
    std::vector<std::string> empty_directories;           // a tmpfs

    // The pinned descriptor of `path`, or -1.
    int pinned(const std::string &path) const;
};

// Pins every path the layout mounts. Throws Error(InvalidRequest) when one has a symbolic link
// in it or is gone (then nothing ran).
PlannedSandbox pin_layout(const SandboxLayout &layout);

// bwrap's --info-fd says which process builds the sandbox; nullopt when bwrap ended first.
std::optional<pid_t> read_sandbox_pid(int info_fd, std::chrono::steady_clock::time_point deadline);

// Waits until `pid` is blocked reading descriptor `block_fd` (its setup done, the command not
// yet started), then compares its root with the plan. False when it ended first; throws
// Error(InternalError) naming the first place that is not as planned.
bool check_sandbox(pid_t pid, int block_fd, const PlannedSandbox &plan,
                   std::chrono::steady_clock::time_point deadline);

} // namespace tr::runner
