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
    // The site of a system nginx (task-runner nginx-site): TLS on the listen address when both
    // are set. Initialised here, so {run_dir, socket, root, console} still initialises the rest
    // (-Wmissing-field-initializers).
    std::string tls_certificate = {};
    std::string tls_key = {};
};

// Replaces every {{name}} in `text`. Throws Error(InternalError) naming a placeholder that has
// no value, so a template and its renderer can never silently disagree.
std::string render_template(const std::string &text,
                            const std::map<std::string, std::string> &values);

std::string render_nginx_config(const Config &config, const NginxSettings &settings);

// The part of the same rendering a system nginx includes in its http block (the maps, zones,
// upstream and server: between the template's "task-runner nginx-site" markers), so the edge of
// `serve` and of an installed service are one template. Throws Error(InvalidRequest) for a path
// setting nginx could not take as one word.
std::string render_nginx_site(const Config &config, const NginxSettings &settings);

} // namespace tr::cli
