// Where the web console's files are, for nginx's `root`: installed beside the programs
// (<prefix>/share/task-runner/console, for <prefix>/bin), else the source tree's console/ (a
// build run in place).
#pragma once

#include <string>

namespace tr::cli {

// The first of the installed directory (relative to `program_dir`) and the source tree's that
// holds an index.html; "" when neither does (nginx then answers 404 for every page).
std::string console_directory(const std::string &program_dir);

} // namespace tr::cli
