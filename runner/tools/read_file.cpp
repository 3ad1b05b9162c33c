// read_file: a text file inside the allowed paths, up to tools.max_output_bytes of it.
#include "core/error.h"
#include "core/paths.h"
#include "runner/sandbox/beneath.h"
#include "runner/tools/tool.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace tr::runner {
namespace {

// An open regular file of at most tools.max_file_bytes; anything else is refused by name.
struct RegularFile {
    UniqueFd fd;
    off_t size = 0;
};

RegularFile open_regular_file(const std::string &resolved, const std::string &requested,
                              ToolContext &context) {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, holding the worker past
    // every deadline (it is refused below, as not a regular file).
    RegularFile file{
        open_beneath(resolved, context.task.allowed_paths, O_RDONLY | O_NOCTTY | O_NONBLOCK)};
    refuse_protected_file(file.fd.get(), requested, context);
    struct stat info {};
    if (::fstat(file.fd.get(), &info) != 0)
        throw Error(ErrorCode::InvalidRequest, system_error_text("stat " + requested, errno));
    if (S_ISDIR(info.st_mode))
        throw Error(ErrorCode::InvalidRequest,
                    "\"" + requested + "\" is a directory; use list_files");
    if (!S_ISREG(info.st_mode))
        throw Error(ErrorCode::InvalidRequest, "\"" + requested + "\" is not a regular file");
    ::fcntl(file.fd.get(), F_SETFL, ::fcntl(file.fd.get(), F_GETFL) & ~O_NONBLOCK);
    if (info.st_size > context.config.max_file_bytes)
        throw Error(ErrorCode::InvalidRequest,
                    "\"" + requested + "\" is " + std::to_string(info.st_size) +
                        " bytes, over tools.max_file_bytes (" +
                        std::to_string(context.config.max_file_bytes) + ")");
    file.size = info.st_size;
    return file;
}

// Up to `limit` bytes from the start; fewer if the file shrank while we read it.
std::string read_up_to(int fd, std::size_t limit, const std::string &requested) {
    std::string content;
    content.resize(limit);
    std::size_t filled = 0;
    while (filled < content.size()) {
        const ssize_t n = ::read(fd, content.data() + filled, content.size() - filled);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(ErrorCode::InvalidRequest, system_error_text("read " + requested, errno));
        if (n == 0)
            break;
        filled += static_cast<std::size_t>(n);
    }
    content.resize(filled);
    return content;
}

} // namespace

ToolResult read_file(const json_t *arguments, ToolContext &context) {
    const std::string requested = json_string_value(json_object_get(arguments, "path"));
    const std::string resolved = resolve_path(requested, context.task.working_directory,
                                              context.task.allowed_paths, MustExist::Yes);
    refuse_protected(resolved, requested, context, false);
    const RegularFile file = open_regular_file(resolved, requested, context);
    const auto size = static_cast<std::size_t>(file.size);
    const std::string content = read_up_to(
        file.fd.get(), std::min(size, static_cast<std::size_t>(context.config.max_output_bytes)),
        requested);

    const bool truncated = size > content.size();
    const bool binary = content.find('\0') != std::string::npos;
    const long long lines = std::count(content.begin(), content.end(), '\n') +
                            (!content.empty() && content.back() != '\n' ? 1 : 0);
    ToolResult result;
    result.data.reset(json_pack("{s:s,s:I,s:I,s:b,s:b}", "path",
                                display_path(resolved, context.task.working_directory).c_str(),
                                "size", static_cast<json_int_t>(file.size), "lines",
                                static_cast<json_int_t>(lines), "truncated", truncated, "binary",
                                binary));
    if (binary) {
        result.output = "(binary file, " + std::to_string(file.size) + " bytes; not shown)";
        return result;
    }
    result.output = to_valid_utf8(content);
    if (truncated)
        result.output += "\n[truncated: the file is " + std::to_string(file.size) +
                         " bytes; the first " + std::to_string(content.size()) + " are shown]";
    json_object_set_new(result.data.get(), "content", json_text(content));
    return result;
}

} // namespace tr::runner
