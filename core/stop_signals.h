// The stop signals every long-running program of the stack answers: SIGTERM (the supervisor's
// stop), SIGINT (Ctrl-C) and SIGHUP (the terminal went away). They are taken synchronously by
// the main thread with sigwait or sigtimedwait, never by an asynchronous handler, so stopping
// is ordinary code: join the threads, finish the requests, write the last rows.
#pragma once

#include <csignal>
#include <initializer_list>

namespace tr {

// Blocks the stop signals and `extra` (SIGCHLD for a supervisor) in the calling thread and
// returns that set, for sigwait. Call it on the main thread before it starts any other thread:
// threads inherit the mask, so none of them takes a stop signal the main thread waits for,
// and a signal that arrives before the wait stays pending instead of killing the process.
// (Child processes reset the mask before exec: core/process.cpp.) Throws Error when a signal
// number is invalid.
sigset_t block_stop_signals(std::initializer_list<int> extra = {});

} // namespace tr
