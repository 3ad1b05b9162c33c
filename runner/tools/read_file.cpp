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

ToolResult read_file(const json_t *arguments, ToolContext &context) {
    const std::string requested = json_string_value(json_object_get(arguments, "path"));
    const std::string resolved = resolve_path(requested, context.task.working_directory,
                                              context.task.allowed_paths, MustExist::Yes);
    refuse_protected(resolved, requested, context, false);
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, holding the worker past
    // every deadline (it is refused below, as not a regular file).
    const UniqueFd fd =
        open_beneath(resolved, context.task.allowed_paths, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    refuse_protected_file(fd.get(), requested, context);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0)
        throw Error(ErrorCode::InvalidRequest, system_error_text("stat " + requested, errno));
    if (S_ISDIR(info.st_mode))
        throw Error(ErrorCode::InvalidRequest,
                    "\"" + requested + "\" is a directory; use list_files");
    if (!S_ISREG(info.st_mode))
        throw Error(ErrorCode::InvalidRequest, "\"" + requested + "\" is not a regular file");
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    if (info.st_size > context.config.max_file_bytes)
        throw Error(ErrorCode::InvalidRequest,
                    "\"" + requested + "\" is " + std::to_string(info.st_size) +
                        " bytes, over tools.max_file_bytes (" +
                        std::to_string(context.config.max_file_bytes) + ")");

    const std::size_t cap = static_cast<std::size_t>(context.config.max_output_bytes);
    std::string content;
    content.resize(std::min<std::size_t>(static_cast<std::size_t>(info.st_size), cap));
    std::size_t filled = 0;
    while (filled < content.size()) {
        const ssize_t n = ::read(fd.get(), content.data() + filled, content.size() - filled);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(ErrorCode::InvalidRequest, system_error_text("read " + requested, errno));
        if (n == 0)
            break; // the file shrank while we read it
        filled += static_cast<std::size_t>(n);
    }
    content.resize(filled);

    const bool truncated = static_cast<std::size_t>(info.st_size) > filled;
    const bool binary = content.find('\0') != std::string::npos;
    const long long lines = std::count(content.begin(), content.end(), '\n') +
                            (!content.empty() && content.back() != '\n' ? 1 : 0);
    ToolResult result;
    result.data.reset(json_pack("{s:s,s:I,s:I,s:b,s:b}", "path",
                                display_path(resolved, context.task.working_directory).c_str(),
                                "size", static_cast<json_int_t>(info.st_size), "lines",
                                static_cast<json_int_t>(lines), "truncated", truncated, "binary",
                                binary));
    if (binary) {
        result.output = "(binary file, " + std::to_string(info.st_size) + " bytes; not shown)";
        return result;
    }
    result.output = to_valid_utf8(content);
    if (truncated)
        result.output += "\n[truncated: the file is " + std::to_string(info.st_size) +
                         " bytes; the first " + std::to_string(filled) + " are shown]";
    json_object_set_new(result.data.get(), "content", json_text(content));
    return result;
}

} // namespace tr::runner
