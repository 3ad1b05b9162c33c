// The builtin provider's understanding of plain language: simple imperative tasks in English
// and Chinese, turned into tool calls, deterministically and without any network.
//
//   "read the file README.md"             "读取README.md文件并总结内容"
//   "list the files in src"               "列出src目录中的文件"
//   "write 'hello' to out.txt"            "将'hello'写入out.txt"
//   "run the command: ls -la"             "运行命令：ls -la"
//
// Clauses can be chained ("list the files in src, then read src/main.cpp"; "……，然后……"),
// and "and summarize it" / "并总结内容" asks for a summary of what was read.
#pragma once

#include "core/json.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr::runner {

struct BuiltinAction {
    std::string tool;        // read_file | write_file | list_files | run_command
    JsonPtr arguments;       // matches the tool's schema
    std::string description; // "read README.md"
};

struct BuiltinTask {
    std::vector<BuiltinAction> actions;
    bool summarize = false;
};

// nullopt when any part of the task is not understood.
std::optional<BuiltinTask> parse_builtin_task(std::string_view task);

// What the builtin provider understands, for the error of a task it does not.
const char *builtin_capabilities();

} // namespace tr::runner
