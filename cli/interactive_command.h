// `task-runner interactive`: a REPL. Each line is a task, run with live steps; lines starting
// with ':' are commands (:status [ID], :cancel [ID], :list, :help, :quit).
#pragma once

namespace tr::cli {

class Invocation;

int interactive_command(const Invocation &invocation);

} // namespace tr::cli
