// An exclusive flock(2) on a lock file, held for as long as the FileLock lives (the kernel
// releases it when the process ends, however it ends, so a crashed run never leaves it held).
#pragma once

#include "core/unique_fd.h"

#include <optional>
#include <string>

namespace tr::cli {

class FileLock {
public:
    // Opens (creating, 0600) `path` and takes the lock without waiting. nullopt when another
    // process holds it. Throws Error naming the path and errno when the file cannot be opened.
    // The holder ("pid N") is written only into a file this call created, or one that is empty
    // or holds only such a line: an existing file (the tasks file itself) keeps its content.
    static std::optional<FileLock> try_take(const std::string &path);

    const std::string &path() const noexcept { return path_; }

private:
    FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

    UniqueFd fd_;
    std::string path_;
};

// What the holder wrote into the lock file ("pid 1234"), for the message of the one refused.
std::string lock_holder(const std::string &path);

} // namespace tr::cli
