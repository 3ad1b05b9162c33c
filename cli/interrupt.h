// Ctrl-C while the CLI waits for a task: the handler only sets the process's one stop flag
// (STYLE.md 8); whoever waits sees it, cancels the task on the server and exits 130.
#pragma once

#include <csignal>

namespace tr::cli {

// Whether SIGINT arrived since the InterruptScope began.
bool interrupted() noexcept;

// Takes SIGINT while it lives (the previous handler comes back after). Not nestable.
class InterruptScope {
public:
    InterruptScope();
    InterruptScope(const InterruptScope &) = delete;
    InterruptScope &operator=(const InterruptScope &) = delete;
    ~InterruptScope();

    // Forgets an earlier Ctrl-C (the REPL: it cancelled one task and reads the next line).
    static void clear() noexcept;

private:
    struct sigaction previous_ {};
};

} // namespace tr::cli
