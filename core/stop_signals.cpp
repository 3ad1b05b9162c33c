// Blocking the stop signals (see stop_signals.h).
#include "core/stop_signals.h"

#include "core/error.h"

#include <pthread.h>

#include <cerrno>
#include <string>

namespace tr {

sigset_t block_stop_signals(std::initializer_list<int> extra) {
    sigset_t signals;
    sigemptyset(&signals);
    for (const int signal : {SIGTERM, SIGINT, SIGHUP})
        sigaddset(&signals, signal);
    for (const int signal : extra)
        if (sigaddset(&signals, signal) != 0)
            throw Error(ErrorCode::InternalError,
                        system_error_text("sigaddset " + std::to_string(signal), errno));
    // pthread_sigmask returns the error instead of setting errno; with a valid set it cannot fail.
    if (const int error = pthread_sigmask(SIG_BLOCK, &signals, nullptr); error != 0)
        throw Error(ErrorCode::InternalError, system_error_text("pthread_sigmask", error));
    return signals;
}

} // namespace tr
