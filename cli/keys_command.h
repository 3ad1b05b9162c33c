// `task-runner keys create|list|revoke`: API keys, managed on the server machine, directly in
// its database (there is no endpoint that creates keys: a stolen admin key cannot mint more).
#pragma once

#include <string>
#include <vector>

namespace tr::cli {

int keys_command(const std::vector<std::string> &args);

} // namespace tr::cli
