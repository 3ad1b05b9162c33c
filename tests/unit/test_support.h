// Shared helpers for the unit tests: temporary directories that remove themselves, small file
// helpers, configurations written to disk and loaded the real way (tr::load_config), and polling
// with a deadline instead of fixed sleeps.
#pragma once

#include "core/config.h"
#include "core/unique_fd.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace tr::test {

// A fresh directory under /tmp, removed recursively (never following symlinks) when the owner
// goes away. Its path is already resolved, so it compares equal to what resolve_path returns.
class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/tr-unit-XXXXXX";
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = std::filesystem::canonical(pattern).string();
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() {
        std::error_code ignored; // a destructor must not throw; a leftover dir is only litter
        std::filesystem::remove_all(path_, ignored);
    }

    const std::string &path() const noexcept { return path_; }

    // The absolute path of `relative` inside the directory.
    std::string operator/(std::string_view relative) const {
        return path_ + "/" + std::string(relative);
    }

    // Writes `content` to `relative`, creating parent directories; returns the absolute path.
    std::string write(std::string_view relative, std::string_view content) const {
        const std::string target = *this / relative;
        std::filesystem::create_directories(std::filesystem::path(target).parent_path());
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out)
            throw std::runtime_error("cannot write " + target);
        return target;
    }

    // mkdir -p of `relative`; returns the absolute path.
    std::string make_dir(std::string_view relative) const {
        const std::string target = *this / relative;
        std::filesystem::create_directories(target);
        return target;
    }

private:
    std::string path_;
};

// A tmpfs of a few megabytes on a fresh directory, for the tests of a full or read-only disk:
// the real ENOSPC and EROFS, not a simulation. Mounting needs root (CAP_SYS_ADMIN); without it
// mounted() is false and why() says so, and the test skips. Unmounted when the owner goes away,
// detached (MNT_DETACH) if something still holds it.
class SmallTmpfs {
public:
    explicit SmallTmpfs(std::size_t size_bytes) : size_(std::to_string(size_bytes)) {
        const std::string options = "size=" + size_ + ",mode=0700";
        if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0)
            mounted_ = true;
        else
            why_ = std::string("mount -t tmpfs: ") + std::strerror(errno) + " (needs root)";
    }
    SmallTmpfs(const SmallTmpfs &) = delete;
    SmallTmpfs &operator=(const SmallTmpfs &) = delete;
    ~SmallTmpfs() {
        if (mounted_)
            ::umount2(dir_.path().c_str(), MNT_DETACH); // a destructor must not throw
    }

    bool mounted() const noexcept { return mounted_; }
    const std::string &why() const noexcept { return why_; }
    const std::string &path() const noexcept { return dir_.path(); }
    std::string operator/(std::string_view relative) const { return dir_ / relative; }

    // Writes a filler file until the disk has no byte left (ENOSPC at every size down to one).
    void fill() const {
        const UniqueFd filler(
            ::open((dir_ / "filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
        if (!filler.valid())
            throw std::runtime_error(std::string("open filler: ") + std::strerror(errno));
        const std::string chunk(1 << 20, '\0');
        for (std::size_t size = chunk.size(); size > 0;)
            if (::write(filler.get(), chunk.data(), size) < 0)
                size /= 2;
    }

    void remove_filler() const { ::unlink((dir_ / "filler").c_str()); }

    // Remounts read-only or read-write; the kernel refuses (EBUSY) while a file on it is open
    // for writing, so every connection must be closed first.
    void remount(bool read_only) const {
        const std::string options = "size=" + size_;
        if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0),
                    options.c_str()) != 0)
            throw std::runtime_error(std::string("remount: ") + std::strerror(errno));
    }

private:
    TempDir dir_;
    std::string size_;
    bool mounted_ = false;
    std::string why_;
};

// Everything left in a captured pipe, until its writers are gone.
inline std::string read_pipe(UniqueFd &fd) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

inline std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline bool exists(const std::string &path) {
    std::error_code ignored;
    return std::filesystem::exists(std::filesystem::symlink_status(path, ignored));
}

// Whether `haystack` contains `needle`: for messages, where EXPECT_THAT is not available.
inline bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
inline bool wait_until(const std::function<bool()> &condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Whether a process is alive: it exists and is not a zombie (an orphan killed in a container
// whose init does not reap would otherwise still answer kill(pid, 0)).
inline bool process_running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!stat || !std::getline(stat, text))
        return false;
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size())
        return false;
    const char state = text[paren + 2];
    return state != 'Z' && state != 'X' && state != 'x';
}

// An environment with exactly these variables, instead of the test process's own.
inline EnvLookup environment_of(std::map<std::string, std::string> variables = {}) {
    return [variables = std::move(variables)](const char *name) -> std::optional<std::string> {
        const auto found = variables.find(name);
        if (found == variables.end())
            return std::nullopt;
        return found->second;
    };
}

// Extra settings for each group of a minimal configuration; each is spliced into its group.
struct ConfigExtras {
    std::string execution;
    std::string tools;
    std::string service;
};

// A minimal valid configuration: the tools work in `work/` of the config's directory (created
// by write_minimal_config), the database lives in `data/`, and there is no sandbox.
inline std::string minimal_config_text(const ConfigExtras &extras = {}) {
    return "execution = {\n" + extras.execution +
           "\n};\n"
           "tools = {\n"
           "    working_directory = \"work\";\n"
           "    allowed_paths = [\"work\"];\n"
           "    sandbox = \"none\";\n" +
           extras.tools +
           "\n};\n"
           "service = {\n" +
           extras.service +
           "\n};\n"
           "storage = {\n"
           "    database = \"data/tasks.db\";\n"
           "};\n";
}

// Writes `text` as `name` in `dir` and loads it with the given environment (none by default).
inline Config write_and_load_config(const TempDir &dir, const std::string &text,
                                    const EnvLookup &env = environment_of(),
                                    const std::string &name = "task-runner.cfg") {
    return load_config(dir.write(name, text), env);
}

// Creates `work/` in `dir` and loads a minimal configuration from it.
inline Config load_minimal_config(const TempDir &dir, const ConfigExtras &extras = {},
                                  const EnvLookup &env = environment_of()) {
    dir.make_dir("work");
    return write_and_load_config(dir, minimal_config_text(extras), env);
}

} // namespace tr::test
