// The bubblewrap (bwrap) command line that confines one command: its own PID, IPC, UTS and
// cgroup namespaces and no network (unless granted), a read-only view of the system with /proc
// and /sys read-only, the readable paths read-only, the writable ones writable, the protected
// ones masked or read-only, a size-limited private /tmp, the seccomp filter, and death with the
// runner. As root, bwrap sets all that up and setpriv(1) then drops the command to the sandbox
// user with no capabilities; otherwise bwrap runs unprivileged in a user namespace of its own.
#pragma once

#include "core/process.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tr::runner {

struct SandboxLayout {
    std::string working_directory;
    std::vector<std::string> readable;           // bound read-only
    std::vector<std::string> writable;           // bound writable, after the readable ones
    std::vector<std::string> hidden_files;       // replaced by an empty read-only file
    std::vector<std::string> hidden_directories; // replaced by an empty read-only directory
    std::vector<std::string> read_only;          // bound read-only again, over the writable ones
    std::vector<std::pair<std::string, std::string>> environment; // the complete environment
    bool network = false;            // the host's network, instead of loopback only
    long long tmp_bytes = 0;         // the size of /tmp
    std::optional<Identity> drop_to; // as root: the sandbox user, through setpriv
    // Descriptor numbers in the child (SpawnSpec::inherited_fds): the seccomp program, and
    // /etc/passwd and /etc/group as the sandbox sees them.
    int seccomp_fd = -1;
    int passwd_fd = -1;
    int group_fd = -1;
    // bwrap waits for a byte on block_fd before it starts the command, and says which process
    // builds the sandbox on info_fd (runner/sandbox/sandbox_check.h).
    int block_fd = -1;
    int info_fd = -1;
};

inline constexpr const char *bwrap_path = "/usr/bin/bwrap";
inline constexpr const char *setpriv_path = "/usr/bin/setpriv";

// argv that runs `/bin/sh -c command` inside the sandbox.
std::vector<std::string> bubblewrap_command(const SandboxLayout &layout,
                                            const std::string &command);

} // namespace tr::runner
