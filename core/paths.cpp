// Lexical path helpers and kernel-faithful resolution inside allowed roots.
#include "core/paths.h"

#include "core/error.h"
#include "core/strings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

namespace tr {
namespace {

std::vector<std::string_view> split_components(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (end > start)
            parts.push_back(path.substr(start, end - start));
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    return parts;
}

std::string join_components(const std::vector<std::string> &parts) {
    if (parts.empty())
        return "/";
    std::string out;
    for (const std::string &part : parts) {
        out += '/';
        out += part;
    }
    return out;
}

std::optional<std::string> real_path(const std::string &path) {
    struct Free {
        void operator()(char *p) const noexcept { std::free(p); }
    };
    std::unique_ptr<char, Free> resolved(::realpath(path.c_str(), nullptr));
    if (!resolved)
        return std::nullopt;
    return std::string(resolved.get());
}

} // namespace

std::string current_directory() {
    char buffer[PATH_MAX];
    if (!::getcwd(buffer, sizeof buffer))
        throw Error(ErrorCode::InternalError, system_error_text("getcwd", errno));
    return buffer;
}

std::string program_directory() {
    char path[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        throw Error(ErrorCode::InternalError, system_error_text("readlink /proc/self/exe", errno));
    return parent_directory(std::string(path, static_cast<std::size_t>(n)));
}

std::string absolute_path(std::string_view path, std::string_view base) {
    std::vector<std::string> parts;
    const auto add = [&parts](std::string_view text) {
        for (std::string_view part : split_components(text)) {
            if (part == ".")
                continue;
            if (part == "..") {
                if (!parts.empty())
                    parts.pop_back();
                continue;
            }
            parts.emplace_back(part);
        }
    };
    if (path.empty() || path.front() != '/')
        add(base);
    add(path);
    return join_components(parts);
}

std::string parent_directory(std::string_view path) {
    const std::string absolute = absolute_path(path, "/");
    const std::size_t slash = absolute.rfind('/');
    return slash == 0 ? "/" : absolute.substr(0, slash);
}

std::string join_path(std::string_view directory, std::string_view name) {
    std::string path;
    path.reserve(directory.size() + 1 + name.size());
    path.append(directory);
    if (path.empty() || path.back() != '/')
        path += '/';
    path.append(name);
    return path;
}

bool path_exists(const std::string &path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

std::optional<std::string> real_directory(const std::string &path) {
    std::optional<std::string> real = real_path(path);
    struct stat info {};
    if (!real || ::stat(real->c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
        return std::nullopt;
    return real;
}

bool is_within(std::string_view path, std::string_view root) {
    if (root == "/")
        return !path.empty() && path.front() == '/';
    if (path.size() < root.size() || path.compare(0, root.size(), root) != 0)
        return false;
    return path.size() == root.size() || path[root.size()] == '/';
}

bool is_within_any(std::string_view path, const std::vector<std::string> &roots) {
    for (const std::string &root : roots)
        if (is_within(path, root))
            return true;
    return false;
}

namespace {

// Where resolve_path's walk stands: the components so far, from "/". Once one is missing, the
// rest cannot be symlinks until ".." climbs back above it (missing_from, an index in parts).
struct Walk {
    std::vector<std::string> parts;
    bool missing = false;
    std::size_t missing_from = 0;
};

std::vector<std::string> components_of(std::string_view path) {
    std::vector<std::string> parts;
    for (std::string_view part : split_components(path))
        parts.emplace_back(part);
    return parts;
}

void climb(Walk &walk) {
    if (!walk.parts.empty())
        walk.parts.pop_back();
    if (walk.missing && walk.parts.size() <= walk.missing_from)
        walk.missing = false; // back on existing ground: what follows may be a symlink again
}

// One component further, as path lookup takes it: a symbolic link is replaced by where it
// points. `requested` is for the message.
void descend(Walk &walk, std::string_view part, std::string_view requested) {
    walk.parts.emplace_back(part);
    if (walk.missing)
        return;
    const std::string so_far = join_components(walk.parts);
    struct stat info {};
    if (::lstat(so_far.c_str(), &info) != 0) {
        walk.missing = true;
        walk.missing_from = walk.parts.size() - 1;
        return;
    }
    if (!S_ISLNK(info.st_mode))
        return;
    const std::optional<std::string> target = real_path(so_far);
    if (!target) // dangling link: where it points is unknowable, so it is refused
        throw Error(ErrorCode::InvalidRequest,
                    "path " + in_quotes(requested) + " goes through a broken symbolic link");
    walk.parts = components_of(*target);
}

} // namespace

std::string resolve_path(std::string_view requested, const std::string &base,
                         const std::vector<std::string> &roots, MustExist must_exist) {
    if (requested.empty())
        throw Error(ErrorCode::InvalidRequest, "path must not be empty");
    if (requested.find('\0') != std::string_view::npos)
        throw Error(ErrorCode::InvalidRequest, "path must not contain NUL bytes");

    // Walk from "/" (or the resolved base) one component at a time, as path lookup does.
    Walk walk;
    if (requested.front() != '/') {
        const std::optional<std::string> real_base = real_path(base);
        if (!real_base)
            throw Error(ErrorCode::InvalidRequest,
                        "base directory of " + in_quotes(requested) + " does not exist");
        walk.parts = components_of(*real_base);
    }
    for (std::string_view part : split_components(requested)) {
        if (part == "..")
            climb(walk);
        else if (part != ".")
            descend(walk, part, requested);
    }
    std::string resolved = join_components(walk.parts);
    if (!is_within_any(resolved, roots))
        throw Error(ErrorCode::InvalidRequest,
                    "path " + in_quotes(requested) + " is outside the allowed paths");
    if (walk.missing && must_exist == MustExist::Yes)
        throw Error(ErrorCode::InvalidRequest, "path " + in_quotes(requested) + " does not exist");
    return resolved;
}

std::vector<std::string> resolve_roots(const std::vector<std::string> &paths) {
    std::vector<std::string> roots;
    for (const std::string &path : paths)
        if (std::optional<std::string> real = real_directory(path))
            roots.push_back(*real);
    return roots;
}

} // namespace tr
