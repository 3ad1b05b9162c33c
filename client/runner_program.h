// Where task-runner-runner is, for the in-process transport: the runner's watchdog is that
// program run with --watchdog (runner/watchdog.h), a process of its own that kills commands
// when leases stop being renewed, and its directory is kept read-only for tasks.
#pragma once

#include <string>

namespace tr::client {

// Looks beside the library (or the program it is linked into): the installed layout
// (LIBDIR/../bin, as configured) and the build tree's (build/lib next to build/bin), then the
// configured install prefix. Throws task_runner::Error naming every place it looked.
std::string find_runner_program();

} // namespace tr::client
