// What no task may touch, whatever the configuration grants (SPEC.md §5): the database with its
// -wal, -shm and -journal and its -wake directory (core/wake_channel.h), every configuration
// file and the run directory are never read or written; the service's programs and every .git
// directory are never written. The file tools refuse them by resolved path (and by inode, against
// hard links); the sandbox masks them or binds them read-only.
#pragma once

#include "core/config.h"

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace tr {

struct ProtectedPaths {
    std::vector<std::string> secret_files;       // resolved; they may not exist (yet)
    std::vector<std::string> secret_directories; // resolved: the run and -wake directories
    std::vector<std::string> read_only;          // resolved: the directory of the programs

    // Within a secret file or directory.
    bool is_secret(std::string_view resolved) const;
    // Secret, within a read-only directory, or with a component named ".git".
    bool is_read_only(std::string_view resolved) const;
    // Whether an open file is one of the secret files under another name (a hard link).
    bool is_secret_file(int fd) const;
};

// `run_dir` and `program_dir` may be empty (not known to this process).
ProtectedPaths protected_paths(const Config &config, const std::string &run_dir,
                               const std::string &program_dir);

// The protected paths that lie inside a path the configuration grants (tools.allowed_paths,
// tools.writable_paths), each with what happens to it: the start-up warnings.
std::vector<std::string> protected_paths_in_grants(const ProtectedPaths &paths,
                                                   const Config &config);

// Whether a path has a component named ".git".
bool has_git_component(std::string_view path);

} // namespace tr
