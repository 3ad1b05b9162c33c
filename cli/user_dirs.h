// The user's own directories (XDG Base Directory Specification): where the CLI keeps its client
// configuration, its REPL history and its lock files.
#pragma once

#include <string>

namespace tr::cli {

// $XDG_CONFIG_HOME/task-runner, else $HOME/.config/task-runner. Throws UsageError when neither
// variable is set (cron and systemd set HOME).
std::string user_config_dir();

// $XDG_STATE_HOME/task-runner, else $HOME/.local/state/task-runner.
std::string user_state_dir();

// Makes `path` and its missing parents, each new one private to the user (0700). Throws Error
// naming the directory and errno; InputError when the nearest one that exists already is not
// the user's (untrusted_directory in cli/trusted_file.h).
void make_private_directories(const std::string &path);

} // namespace tr::cli
