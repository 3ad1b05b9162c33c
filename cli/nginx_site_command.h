// `task-runner nginx-site`: the edge of `task-runner serve` (nginx/task-runner.conf.in) as a site
// for a system nginx, rendered from the service's configuration to stdout.
#pragma once

#include "cli/command_line.h"

namespace tr::cli {

Command nginx_site_command_spec();

} // namespace tr::cli
