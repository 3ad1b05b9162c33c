// Which server the CLI talks to and with which API key. Each comes from the first of: the
// command line (--server, --key), the environment (TASK_RUNNER_URL, TASK_RUNNER_KEY), the client
// configuration file, the default (http://127.0.0.1:8080, no key). The file is
// $TASK_RUNNER_CLIENT_CONFIG, else $XDG_CONFIG_HOME/task-runner/client.conf, else
// ~/.config/task-runner/client.conf, in libconfig syntax:
//
//     url = "https://tasks.example.org";
//     key = "trk_...";
//
// The file is refused whole (its url too) unless it is a regular file, not a symbolic link,
// owned by the user (or root) and writable by its owner alone, in a directory others cannot
// write (or a sticky one such as /tmp). A file that holds a key must also be private to its
// owner (mode 0600 or stricter), as ssh insists for its keys: a key others can read is refused.
#pragma once

#include <string>

namespace tr::cli {

class Invocation;

struct ClientSettings {
    std::string url;
    std::string key;        // empty: none. Never printed, logged or put in a message.
    std::string url_source; // "--server", "TASK_RUNNER_URL", the file's path, "default"
};

// Throws UsageError naming the file and line when the client configuration file is unreadable,
// malformed or has a setting it does not know; InputError when it is not trusted (above) or
// holds a key and is not private.
ClientSettings client_settings(const Invocation &invocation);

// Where the client configuration file is looked for (it need not exist).
std::string client_config_path();

} // namespace tr::cli
