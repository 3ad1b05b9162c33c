// `task-runner config validate FILE`: checks a server configuration file the way the service
// would load it, without starting anything.
#pragma once

namespace tr::cli {

class Invocation;

int config_command(const Invocation &invocation);

} // namespace tr::cli
