// The SIGINT flag.
#include "cli/interrupt.h"

namespace tr::cli {
namespace {

volatile std::sig_atomic_t interrupt_seen = 0;

extern "C" void on_interrupt(int) {
    interrupt_seen = 1;
}

} // namespace

bool interrupted() noexcept {
    return interrupt_seen != 0;
}

InterruptScope::InterruptScope() {
    interrupt_seen = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: a blocking read returns EINTR and sees the flag
    sigaction(SIGINT, &action, &previous_);
}

InterruptScope::~InterruptScope() {
    sigaction(SIGINT, &previous_, nullptr);
}

void InterruptScope::clear() noexcept {
    interrupt_seen = 0;
}

} // namespace tr::cli
