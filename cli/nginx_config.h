// Rendering nginx/task-runner.conf.in (embedded at build time) from the service configuration.
#pragma once

#include "core/config.h"

#include <map>
#include <string>

namespace tr::cli {

struct NginxSettings {
    std::string run_dir;     // nginx's prefix: pid, temp paths
    std::string fcgi_socket; // the handlers' unix socket
    bool as_root = false;    // then workers run as nobody:nogroup
    std::string console_dir; // the web console's files (cli/console_directory.h); "" for none
};

// Replaces every {{name}} in `text`. Throws Error(InternalError) naming a placeholder that has
// no value, so a template and its renderer can never silently disagree.
std::string render_template(const std::string &text,
                            const std::map<std::string, std::string> &values);

std::string render_nginx_config(const Config &config, const NginxSettings &settings);

} // namespace tr::cli
