// list_files: a directory's entries, sorted, with type and size; optionally recursive (never
// following symbolic links), capped so a huge tree cannot flood the model.
#include "core/error.h"
#include "core/paths.h"
#include "runner/sandbox/beneath.h"
#include "runner/tools/tool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace tr::runner {
namespace {

constexpr std::size_t max_entries = 1000;

struct Entry {
    std::string path; // relative to the listed directory
    char kind;        // 'd', 'f', 'l' or '?'
    long long size;
};

struct CloseDir {
    void operator()(DIR *dir) const noexcept { ::closedir(dir); }
};

// Reads one directory through its descriptor (fdopendir takes ownership of it).
void read_directory(UniqueFd fd, const std::string &path, const std::string &prefix, bool recursive,
                    const ProtectedPaths &hidden, std::vector<Entry> &entries, bool &truncated) {
    const int dir_fd = fd.get();
    std::unique_ptr<DIR, CloseDir> dir(::fdopendir(fd.release()));
    if (!dir)
        throw Error(ErrorCode::InvalidRequest, system_error_text("opendir", errno));
    std::vector<Entry> here;
    while (const dirent *item = ::readdir(dir.get())) {
        const std::string name = item->d_name;
        if (name == "." || name == ".." || hidden.is_secret(path + "/" + name))
            continue; // the service's own files are not the task's to see, even by name
        struct stat info {};
        if (::fstatat(dir_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // vanished while listing
        const char kind = S_ISDIR(info.st_mode)   ? 'd'
                          : S_ISREG(info.st_mode) ? 'f'
                          : S_ISLNK(info.st_mode) ? 'l'
                                                  : '?';
        here.push_back({prefix + name, kind, static_cast<long long>(info.st_size)});
    }
    std::sort(here.begin(), here.end(),
              [](const Entry &a, const Entry &b) { return a.path < b.path; });
    for (const Entry &entry : here) {
        if (entries.size() >= max_entries) {
            truncated = true;
            return;
        }
        entries.push_back(entry);
        if (!recursive || entry.kind != 'd')
            continue;
        const std::string name = entry.path.substr(prefix.size());
        UniqueFd child(
            ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (child.valid())
            read_directory(std::move(child), path + "/" + name, entry.path + "/", true, hidden,
                           entries, truncated);
    }
}

} // namespace

ToolResult list_files(const json_t *arguments, ToolContext &context) {
    const json_t *path = json_object_get(arguments, "path");
    const std::string requested = path ? json_string_value(path) : ".";
    const bool recursive = json_is_true(json_object_get(arguments, "recursive"));
    const std::string resolved = resolve_path(requested, context.task.working_directory,
                                              context.task.allowed_paths, MustExist::Yes);
    if (!real_directory(resolved))
        throw Error(ErrorCode::InvalidRequest,
                    "\"" + requested + "\" is not a directory; use read_file");
    refuse_protected(resolved, requested, context, false);
    std::vector<Entry> entries;
    bool truncated = false;
    read_directory(open_beneath(resolved, context.task.allowed_paths, O_RDONLY | O_DIRECTORY),
                   resolved == "/" ? "" : resolved, "", recursive,
                   context.sandbox.protected_paths(), entries, truncated);

    long long directories = 0, files = 0;
    std::string listing;
    for (const Entry &entry : entries) {
        if (entry.kind == 'd') {
            ++directories;
            listing += entry.path + "/\n";
        } else {
            files += entry.kind == 'f';
            listing += entry.path + (entry.kind == 'l' ? " (symlink)" : "") +
                       (entry.kind == 'f' ? "  " + std::to_string(entry.size) + " bytes" : "") +
                       "\n";
        }
    }
    if (truncated)
        listing += "[truncated after " + std::to_string(max_entries) + " entries]\n";
    if (entries.empty())
        listing = "(empty directory)\n";

    ToolResult result;
    result.output = to_valid_utf8(listing);
    const std::string shown = display_path(resolved, context.task.working_directory);
    result.data.reset(json_pack("{s:s,s:I,s:I,s:I,s:b}", "path", shown.c_str(), "entries",
                                static_cast<json_int_t>(entries.size()), "directories",
                                static_cast<json_int_t>(directories), "files",
                                static_cast<json_int_t>(files), "truncated", truncated));
    return result;
}

} // namespace tr::runner
