// `task-runner serve [--config FILE] [--demo [TASK]]`: the whole stack in the foreground.
#pragma once

#include <string>
#include <vector>

namespace tr::cli {

int serve_command(const std::vector<std::string> &args);

} // namespace tr::cli
