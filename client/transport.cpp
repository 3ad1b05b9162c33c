// What both transports share.
#include "client/transport.h"

#include <task_runner/error.h>

#include <algorithm>
#include <thread>

namespace tr::client {

void pause_unless_interrupted(std::chrono::milliseconds delay,
                              const std::function<bool()> &interrupted) {
    const auto until = std::chrono::steady_clock::now() + delay;
    for (auto now = std::chrono::steady_clock::now(); now < until;
         now = std::chrono::steady_clock::now()) {
        if (interrupted && interrupted())
            throw task_runner::Interrupted("interrupted");
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(100), until - now));
    }
}

} // namespace tr::client
