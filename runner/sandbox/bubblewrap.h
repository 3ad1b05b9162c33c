// Building the bubblewrap (bwrap) command line that confines a task's command: no network, no
// other namespaces shared, a read-only view of the system, the allowed paths read-only and only
// the working directory writable, a private /tmp, and death with the runner.
#pragma once

#include "core/log.h"

#include <string>
#include <utility>
#include <vector>

namespace tr::runner {

enum class SandboxKind { None, Bubblewrap };

struct SandboxLayout {
    std::string working_directory;                                // writable
    std::vector<std::string> readable_paths;                      // allowed roots, read-only
    std::vector<std::pair<std::string, std::string>> environment; // the complete environment
};

// Resolves tools.sandbox ("auto" | "bubblewrap" | "none") once, at start-up, by running a
// trivial command in bwrap: "auto" falls back to none with a warning, "bubblewrap" throws
// Error(InternalError) when bwrap does not work here.
SandboxKind choose_sandbox(const std::string &setting, const Log &log);

// argv that runs `/bin/sh -c command` inside the sandbox.
std::vector<std::string> bubblewrap_command(const SandboxLayout &layout,
                                            const std::string &command);

} // namespace tr::runner
