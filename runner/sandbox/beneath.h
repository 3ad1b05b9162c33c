// File access that the kernel keeps inside the allowed directories. Paths are first resolved
// and checked in user space (core/paths.h); opening then goes through openat2(2) from the
// allowed root with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so a symlink swapped in between the
// check and the open (by a command of the same task, say) makes the open fail instead of
// escaping.
#pragma once

#include "core/unique_fd.h"

#include <sys/types.h>

#include <string>
#include <vector>

namespace tr::runner {

// `resolved` is an absolute path from resolve_path(); flags are open(2) flags (O_CLOEXEC is
// added). Throws Error(InvalidRequest) when it leaves the roots, or with the system error.
UniqueFd open_beneath(const std::string &resolved, const std::vector<std::string> &roots, int flags,
                      mode_t mode = 0);

// An O_PATH descriptor of `absolute`, opened with no symbolic link in any component: what a
// granted path is right now, held so that swapping a component for a link later changes
// nothing. Throws Error(InvalidRequest) naming the path when it has one, or is gone.
UniqueFd pin_path(const std::string &absolute);

// mkdir -p of a resolved directory, one component at a time beneath its root.
void make_directories_beneath(const std::string &resolved, const std::vector<std::string> &roots);

} // namespace tr::runner
