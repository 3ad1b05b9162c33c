// Path arithmetic and the rule every file access follows: a path is resolved completely
// (symlinks and ".." included) before it is compared with the allowed directories.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

std::string current_directory();

// The directory of the running program (/proc/self/exe resolved): where the installed layout
// and the stack's sibling programs are found from. Throws Error(InternalError) naming the call.
std::string program_directory();

// Joins a relative path onto base and removes ".", ".." and repeated slashes lexically. Only
// for paths we are given in config; anything a task names goes through resolve_path.
std::string absolute_path(std::string_view path, std::string_view base);

std::string parent_directory(std::string_view path);

// The entry `name` of `directory`: "/a" and "b" give "/a/b", "/" and "b" give "/b" (not "//b",
// the same file to the kernel, but a string no resolved path compares equal to).
std::string join_path(std::string_view directory, std::string_view name);

// Whether there is an entry at `path` (a symbolic link counts as one, wherever it points).
bool path_exists(const std::string &path);

// realpath(3) of an existing directory, or nullopt.
std::optional<std::string> real_directory(const std::string &path);

// Whether `path` is `root` or lies below it, comparing whole components ("/a/bc" is not in
// "/a/b"). Both must already be absolute and resolved.
bool is_within(std::string_view path, std::string_view root);
bool is_within_any(std::string_view path, const std::vector<std::string> &roots);

enum class MustExist { Yes, No };

// Resolves `requested` (relative to `base`) the way the kernel would, component by component:
// every existing prefix through realpath, so symlinks and ".." land where they really point.
// A missing tail (a file about to be created) is appended lexically. The result must lie within
// one of `roots` (resolved directories). Throws Error(InvalidRequest) naming `requested` when it
// escapes them, is empty or contains a NUL, or does not exist when it must.
std::string resolve_path(std::string_view requested, const std::string &base,
                         const std::vector<std::string> &roots, MustExist must_exist);

// The resolved forms of configured directories, skipping those that do not exist.
std::vector<std::string> resolve_roots(const std::vector<std::string> &paths);

} // namespace tr
