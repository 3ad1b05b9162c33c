// XDG base directories.
#include "cli/user_dirs.h"

#include "cli/trusted_file.h"
#include "cli/usage_error.h"
#include "core/error.h"
#include "core/paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

namespace tr::cli {
namespace {

// The spec says relative values are invalid and to be ignored.
std::string base_directory(const char *variable, const char *fallback_below_home) {
    if (const char *value = std::getenv(variable); value && value[0] == '/')
        return value;
    const char *home = std::getenv("HOME");
    if (!home || home[0] != '/')
        throw UsageError(std::string("neither $") + variable +
                         " nor $HOME is set to an absolute path: no place for the user's files");
    return join_path(home, fallback_below_home);
}

} // namespace

std::string user_config_dir() {
    return join_path(base_directory("XDG_CONFIG_HOME", ".config"), "task-runner");
}

std::string user_state_dir() {
    return join_path(base_directory("XDG_STATE_HOME", ".local/state"), "task-runner");
}

void make_private_directories(const std::string &path) {
    if (path.empty() || path == "/")
        return;
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) {
        // One made before, by us or by whoever could write here (root with another user's
        // HOME, sudo -E): files kept in it are only the user's if it is.
        if (const std::string why = untrusted_directory(info); !why.empty())
            throw InputError(path + " " + why + "; not keeping files in it");
        return;
    }
    make_private_directories(parent_directory(path));
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        throw Error(ErrorCode::InternalError, system_error_text("mkdir " + path, errno));
}

} // namespace tr::cli
