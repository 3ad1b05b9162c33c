// Letting an unprivileged sandbox user write where the service's root-owned files are, without
// handing out any ownership: when the runner is root, a command's writable paths are replaced,
// in a mount namespace of the command's own, by idmapped mounts of themselves (Linux 5.12,
// mount_setattr(MOUNT_ATTR_IDMAP)). Through them root's files look like the sandbox user's, and
// what the sandbox user writes is stored as root's; nothing outside the command's namespace
// changes, and the files stay usable by the user who runs the service.
#pragma once

#include "core/process.h"
#include "core/unique_fd.h"

#include <string>
#include <vector>

namespace tr::runner {

// A user namespace whose one mapping is uid and gid 0 <-> the sandbox user: what idmapped
// mounts map through. Made by a short-lived child (the namespace outlives it through the
// descriptor). Throws Error(InternalError).
UniqueFd make_idmap_namespace(const Identity &sandbox_user);

// Prepared before the fork; read by prepare_child_mounts in the child.
struct ChildMounts {
    int idmap_namespace = -1;
    // Descriptors of the paths to idmap (pin_path), none inside another; each clone is made
    // from its descriptor, so what is mounted is what was pinned, whatever the path is now.
    std::vector<int> idmapped_fds;
    std::vector<std::string> idmapped; // where each goes
    // Without bubblewrap, the protections it would have made (SandboxLayout's):
    std::vector<std::string> hidden_files;       // /dev/null over them, read-only
    std::vector<std::string> hidden_directories; // an empty read-only tmpfs over them
    std::vector<std::string> read_only;          // bound read-only over themselves
    bool fresh_proc = false; // a procfs of the child's own PID namespace on /proc
};

// A PrepareChild (core/process.h): a private mount namespace (nothing propagates back), each
// path of `idmapped` replaced by its idmapped self, the protections, and /proc when asked.
// Needs root.
int prepare_child_mounts(const void *mounts, const char **step) noexcept;

} // namespace tr::runner
