// write_file: creates or replaces a file atomically (a temporary file renamed over it), or
// appends to it; parent directories are created. Every written file is a task artifact.
#include "core/error.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/strings.h"
#include "runner/sandbox/beneath.h"
#include "runner/tools/tool.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace tr::runner {
namespace {

void write_all(int fd, const std::string &content, const std::string &requested) {
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(ErrorCode::InvalidRequest, system_error_text("write " + requested, errno));
        written += static_cast<std::size_t>(n);
    }
}

std::string base_name(const std::string &path) {
    return path.substr(path.rfind('/') + 1);
}

void replace_atomically(const std::string &resolved, const std::string &requested,
                        const std::string &content, const std::vector<std::string> &roots) {
    const std::string directory = parent_directory(resolved);
    const UniqueFd dir = open_beneath(directory, roots, O_PATH | O_DIRECTORY);
    const std::string name = base_name(resolved);
    const std::string temporary = "." + name + ".tr-" + random_hex(6);
    UniqueFd file(::openat(dir.get(), temporary.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file.valid())
        throw Error(ErrorCode::InvalidRequest, system_error_text("create " + requested, errno));
    try {
        write_all(file.get(), content, requested);
        if (::renameat(dir.get(), temporary.c_str(), dir.get(), name.c_str()) != 0)
            throw Error(ErrorCode::InvalidRequest,
                        system_error_text("rename onto " + requested, errno));
    } catch (...) {
        ::unlinkat(dir.get(), temporary.c_str(), 0); // never leave the half-written file behind
        throw;
    }
}

// All the task's writes together, as the file tools can count them (commands are bound per
// file and by /tmp's size; see the README), and this one file.
void check_write_limits(const std::string &content, const ToolContext &context) {
    const long long total = context.bytes_written + static_cast<long long>(content.size());
    if (total > context.config.max_task_write_bytes)
        throw Error(ErrorCode::InvalidRequest,
                    "the task would write " + std::to_string(total) +
                        " bytes with this file, over tools.max_task_write_bytes (" +
                        std::to_string(context.config.max_task_write_bytes) + ")");
    if (content.size() > static_cast<std::size_t>(context.config.max_file_bytes))
        throw Error(ErrorCode::InvalidRequest, "content is " + std::to_string(content.size()) +
                                                   " bytes, over tools.max_file_bytes (" +
                                                   std::to_string(context.config.max_file_bytes) +
                                                   ")");
}

// Where `requested` is, if the task may write a file there; its directories are created.
std::string writable_file(const std::string &requested, ToolContext &context) {
    const std::vector<std::string> &roots = context.task.writable_paths;
    std::string resolved = resolve_path(requested, context.task.working_directory,
                                        context.task.allowed_paths, MustExist::No);
    if (!is_within_any(resolved, roots))
        throw Error(ErrorCode::InvalidRequest,
                    "path \"" + requested + "\" is not writable: this task may write only in " +
                        (roots.empty() ? std::string("no directory") : join(roots, ", ")));
    refuse_protected(resolved, requested, context, true);
    if (resolved == context.task.working_directory || real_directory(resolved))
        throw Error(ErrorCode::InvalidRequest, "\"" + requested + "\" is a directory");
    make_directories_beneath(parent_directory(resolved), roots);
    return resolved;
}

void append_to(const std::string &resolved, const std::string &requested,
               const std::string &content, ToolContext &context) {
    // O_NONBLOCK, then a regular file only: a FIFO would hold the worker until read.
    const UniqueFd file = open_beneath(resolved, context.task.writable_paths,
                                       O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0644);
    refuse_protected_file(file.get(), requested, context);
    struct stat opened {};
    if (::fstat(file.get(), &opened) != 0 || !S_ISREG(opened.st_mode))
        throw Error(ErrorCode::InvalidRequest, "\"" + requested + "\" is not a regular file");
    ::fcntl(file.get(), F_SETFL, ::fcntl(file.get(), F_GETFL) & ~O_NONBLOCK);
    write_all(file.get(), content, requested);
}

// The written file among the task's artifacts, with its size now; returns that size.
long long record_artifact(const std::string &resolved, const std::string &shown,
                          ToolContext &context) {
    const UniqueFd written = open_beneath(resolved, context.task.writable_paths, O_PATH);
    struct stat info {};
    ::fstat(written.get(), &info);
    const auto size = static_cast<long long>(info.st_size);
    auto artifact = std::find_if(context.artifacts.begin(), context.artifacts.end(),
                                 [&](const Artifact &a) { return a.path == shown; });
    if (artifact == context.artifacts.end())
        context.artifacts.push_back({shown, size});
    else
        artifact->size = size;
    return size;
}

} // namespace

ToolResult write_file(const json_t *arguments, ToolContext &context) {
    const std::string requested = json_string_value(json_object_get(arguments, "path"));
    const json_t *content_json = json_object_get(arguments, "content");
    const std::string content(json_string_value(content_json), json_string_length(content_json));
    const bool append = json_is_true(json_object_get(arguments, "append"));
    check_write_limits(content, context);
    const std::string resolved = writable_file(requested, context);
    if (append)
        append_to(resolved, requested, content, context);
    else
        replace_atomically(resolved, requested, content, context.task.writable_paths);
    context.bytes_written += static_cast<long long>(content.size());
    const std::string shown = display_path(resolved, context.task.working_directory);
    const long long size = record_artifact(resolved, shown, context);

    ToolResult result;
    result.output = std::string(append ? "appended " : "wrote ") + std::to_string(content.size()) +
                    " bytes to " + shown + " (now " + std::to_string(size) + " bytes)";
    result.data.reset(json_pack("{s:s,s:I,s:I,s:b}", "path", shown.c_str(), "bytes_written",
                                static_cast<json_int_t>(content.size()), "size",
                                static_cast<json_int_t>(size), "append", append));
    return result;
}

} // namespace tr::runner
