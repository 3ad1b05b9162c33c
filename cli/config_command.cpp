// Validating a configuration file.
#include "cli/config_command.h"

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/usage_error.h"
#include "core/config.h"
#include "core/error.h"

#include <iostream>

namespace tr::cli {

int config_command(const Invocation &invocation) {
    const std::vector<std::string> &operands = invocation.operands();
    if (operands.front() != "validate")
        throw UsageError("config: unknown action \"" + operands.front().substr(0, 40) +
                         "\" (there is: validate FILE)");
    if (operands.size() != 2)
        throw UsageError("config validate needs the file: task-runner config validate FILE");
    const std::string &path = operands[1];
    // The file alone, as written: the environment's overrides belong to one machine's service,
    // not to the file being checked (--with-environment checks both).
    const EnvLookup no_environment = [](const char *) { return std::optional<std::string>(); };
    try {
        const Config config = load_config(
            path, invocation.has("--with-environment") ? process_environment() : no_environment);
        std::cout << path << ": valid (serves on " << config.service.bind_address << ")\n";
        return exit_ok;
    } catch (const Error &e) {
        // load_config lists every problem, one per line, each with file:line.
        throw InputError(e.what());
    }
}

} // namespace tr::cli
