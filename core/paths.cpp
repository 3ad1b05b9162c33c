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

std::string resolve_path(std::string_view requested, const std::string &base,
                         const std::vector<std::string> &roots, MustExist must_exist) {
    if (requested.empty())
        throw Error(ErrorCode::InvalidRequest, "path must not be empty");
    if (requested.find('\0') != std::string_view::npos)
        throw Error(ErrorCode::InvalidRequest, "path must not contain NUL bytes");

    // Walk from "/" (or the resolved base) one component at a time, as path lookup does.
    std::vector<std::string> parts;
    bool missing = false;         // once a component is missing, the rest cannot be symlinks...
    std::size_t missing_from = 0; // ...until ".." climbs back above it (index in parts)
    if (requested.front() != '/') {
        const std::optional<std::string> real_base = real_path(base);
        if (!real_base)
            throw Error(ErrorCode::InvalidRequest,
                        "base directory of " + in_quotes(requested) + " does not exist");
        for (std::string_view part : split_components(*real_base))
            parts.emplace_back(part);
    }
    for (std::string_view part : split_components(requested)) {
        if (part == ".")
            continue;
        if (part == "..") {
            if (!parts.empty())
                parts.pop_back();
            if (missing && parts.size() <= missing_from)
                missing = false; // back on existing ground: what follows may be a symlink again
            continue;
        }
        parts.emplace_back(part);
        if (missing)
            continue;
        const std::string so_far = join_components(parts);
        struct stat info {};
        if (::lstat(so_far.c_str(), &info) != 0) {
            missing = true;
            missing_from = parts.size() - 1;
            continue;
        }
        if (S_ISLNK(info.st_mode)) {
            const std::optional<std::string> target = real_path(so_far);
            if (!target) { // dangling link: where it points is unknowable, so it is refused
                throw Error(ErrorCode::InvalidRequest, "path " + in_quotes(requested) +
                                                           " goes through a broken symbolic link");
            }
            parts.clear();
            for (std::string_view target_part : split_components(*target))
                parts.emplace_back(target_part);
        }
    }
    const std::string resolved = join_components(parts);
    if (!is_within_any(resolved, roots))
        throw Error(ErrorCode::InvalidRequest,
                    "path " + in_quotes(requested) + " is outside the allowed paths");
    if (missing && must_exist == MustExist::Yes)
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
