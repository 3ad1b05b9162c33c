// The builtin provider's understanding of plain language: simple imperative tasks in English
// and Chinese, turned into tool calls, deterministically and without any network.
//
//   "summarize this project"              "分析这个项目并创建摘要"
//   "read the file README.md"             "读取README.md文件并总结内容"
//   "list the files in src"               "列出src目录中的文件"
//   "write 'hello' to out.txt"            "将'hello'写入out.txt"
//   "run the command: ls -la"             "运行命令：ls -la"
//
// Clauses can be chained ("list the files in src, then read src/main.cpp"; "……，然后……"),
// and "and summarize it" / "并总结内容" asks for a summary of what was read.
//
// What is taken from the text is taken as written; the rules for where it ends:
//  - A command in quotes (`...`, "..." or '...', typographic ones too) is exactly the text
//    between them; after the closing quote only the end of the task or a clause separator may
//    follow (one sentence mark allowed before it), anything else refuses the task, so nothing
//    outside the quotes ever runs.
//  - An unquoted command runs to the end of the task, or to the first ", then " / ", and then "
//    / "，然后" / "。然后" outside the shell's quotes; nothing is cut from it (not a final "."
//    or "?"). ";", "&&" and " then " belong to the shell ("if x; then y; fi") and stay in it.
//  - A path ends at white space, or is quoted. A final ".", "!", "?" or "," after it is the
//    sentence's, except that a path whose last part is only dots ("..", "src/.") keeps them;
//    quote a path to give it exactly ("read the file 'notes.'").
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
    // A project summary's listing (of "."): the README it shows, if any, is read next, and the
    // final answer summarises both.
    bool reads_readme = false;
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
