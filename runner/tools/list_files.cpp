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

// A listing being made: what it may not show, how deep it goes, what it found so far.
struct Listing {
    const ProtectedPaths &hidden;
    bool recursive;
    std::vector<Entry> entries;
    bool truncated = false;
};

// The entries of one open directory (at `path`, shown under `prefix`), sorted by name.
std::vector<Entry> sorted_entries(DIR *dir, const std::string &path, const std::string &prefix,
                                  const ProtectedPaths &hidden) {
    std::vector<Entry> here;
    while (const dirent *item = ::readdir(dir)) {
        const std::string name = item->d_name;
        if (name == "." || name == ".." || hidden.is_secret(join_path(path, name)))
            continue; // the service's own files are not the task's to see, even by name
        struct stat info {};
        if (::fstatat(::dirfd(dir), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // vanished while listing
        const char kind = S_ISDIR(info.st_mode)   ? 'd'
                          : S_ISREG(info.st_mode) ? 'f'
                          : S_ISLNK(info.st_mode) ? 'l'
                                                  : '?';
        here.push_back({prefix + name, kind, static_cast<long long>(info.st_size)});
    }
    std::sort(here.begin(), here.end(),
              [](const Entry &a, const Entry &b) { return a.path < b.path; });
    return here;
}

// Reads one directory through its descriptor (fdopendir takes ownership of it).
void read_directory(UniqueFd fd, const std::string &path, const std::string &prefix,
                    Listing &listing) {
    const int dir_fd = fd.get();
    std::unique_ptr<DIR, CloseDir> dir(::fdopendir(fd.release()));
    if (!dir)
        throw Error(ErrorCode::InvalidRequest, system_error_text("opendir", errno));
    for (const Entry &entry : sorted_entries(dir.get(), path, prefix, listing.hidden)) {
        if (listing.entries.size() >= max_entries) {
            listing.truncated = true;
            return;
        }
        listing.entries.push_back(entry);
        if (!listing.recursive || entry.kind != 'd')
            continue;
        const std::string name = entry.path.substr(prefix.size());
        UniqueFd child(
            ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (child.valid())
            read_directory(std::move(child), join_path(path, name), entry.path + "/", listing);
    }
}

// What the model reads: one entry a line, directories with a slash, files with their size.
std::string listing_text(const Listing &found) {
    if (found.entries.empty())
        return "(empty directory)\n";
    std::string text;
    for (const Entry &entry : found.entries) {
        text += entry.path;
        if (entry.kind == 'd')
            text += '/';
        if (entry.kind == 'l')
            text += " (symlink)";
        if (entry.kind == 'f')
            text.append("  ").append(std::to_string(entry.size)).append(" bytes");
        text += '\n';
    }
    if (found.truncated)
        text.append("[truncated after ").append(std::to_string(max_entries)).append(" entries]\n");
    return text;
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
    Listing found{context.sandbox.protected_paths(), recursive, {}};
    read_directory(open_beneath(resolved, context.task.allowed_paths, O_RDONLY | O_DIRECTORY),
                   resolved, "", found);
    const std::vector<Entry> &entries = found.entries;
    const long long directories = std::count_if(
        entries.begin(), entries.end(), [](const Entry &entry) { return entry.kind == 'd'; });
    const long long files = std::count_if(entries.begin(), entries.end(),
                                          [](const Entry &entry) { return entry.kind == 'f'; });

    ToolResult result;
    result.output = to_valid_utf8(listing_text(found));
    const std::string shown = display_path(resolved, context.task.working_directory);
    result.data.reset(json_pack("{s:s,s:I,s:I,s:I,s:b}", "path", shown.c_str(), "entries",
                                static_cast<json_int_t>(entries.size()), "directories",
                                static_cast<json_int_t>(directories), "files",
                                static_cast<json_int_t>(files), "truncated", found.truncated));
    return result;
}

} // namespace tr::runner
