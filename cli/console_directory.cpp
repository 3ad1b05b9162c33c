// Finding the console's files.
#include "cli/console_directory.h"

#include "core/paths.h"

#ifndef TR_INSTALLED_CONSOLE_DIR
#define TR_INSTALLED_CONSOLE_DIR "share/task-runner/console" // relative to the prefix
#endif
#ifndef TR_SOURCE_CONSOLE_DIR
#define TR_SOURCE_CONSOLE_DIR ""
#endif

namespace tr::cli {

std::string console_directory(const std::string &program_dir) {
    // The installed copy first: a build directory has no share/ beside its bin/, so it falls
    // through to the source tree, while an installed stack never reads a source tree that may
    // have moved on (or gone).
    const std::string installed =
        absolute_path(TR_INSTALLED_CONSOLE_DIR, parent_directory(program_dir));
    for (const std::string &candidate : {installed, std::string(TR_SOURCE_CONSOLE_DIR)})
        if (!candidate.empty() && path_exists(join_path(candidate, "index.html")))
            return real_directory(candidate).value_or(candidate);
    return "";
}

} // namespace tr::cli
