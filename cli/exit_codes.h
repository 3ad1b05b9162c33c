// The CLI's exit statuses, one meaning each across every subcommand (task-runner(1), README).
#pragma once

namespace tr::cli {

inline constexpr int exit_ok = 0;            // done: the task completed, the request was accepted
inline constexpr int exit_not_completed = 1; // a task failed, timed out, was cancelled, or is
                                             // still running when the wait ended
inline constexpr int exit_bad_input = 2;     // wrong usage, or a file that cannot be used
inline constexpr int exit_server = 3;        // the server could not be reached or refused
inline constexpr int exit_locked = 4;        // submit: another run holds the lock; restore:
                                             // the database is in use
inline constexpr int exit_interrupted = 130; // Ctrl-C while waiting: the task was cancelled

} // namespace tr::cli
