// What several handlers share: reading a JSON body, task visibility, waking the runners, and
// waiting for a task without letting waiters take every thread.
#pragma once

#include "core/task_store.h"
#include "fcgi/handler.h"

#include <optional>
#include <string>

namespace tr::fcgi {

// The request body as JSON. Throws Error(InvalidRequest) when it is empty (the message shows
// `example`) or malformed.
JsonPtr parse_body(const HttpRequest &request, const char *example);

// The task, when the caller may see it: its own owner's, or any for admin keys (and without
// authentication). Throws Error(TaskNotFound) otherwise, the same as for a task that does not
// exist, so ids of others' tasks cannot be probed.
TaskHead visible_task(HandlerContext &context, const Call &call, const std::string &id);

// Tells the idle runners on this host that a task was queued, so they need not wait for their
// next poll (core/wake_channel.h); does nothing in a process without a waker.
void wake_runners(HandlerContext &context) noexcept;

// The longest ?wait=N.
constexpr int max_wait_seconds = 60;

// ?wait=N (0..max_wait_seconds), or nullopt. Throws Error(InvalidRequest) for anything else.
std::optional<int> wait_parameter(const HttpRequest &request);

// Holds one of the process's service.max_waiting_requests places for as long as it lives.
// Throws Error(ServiceUnavailable) (503, Retry-After) when they are all taken, so waiting
// requests can never occupy every handler thread.
class WaitSlot {
public:
    explicit WaitSlot(HandlerContext &context);
    WaitSlot(const WaitSlot &) = delete;
    WaitSlot &operator=(const WaitSlot &) = delete;
    ~WaitSlot();

private:
    ProcessState &process_;
};

// Waits up to `seconds` for the task to reach a terminal status (or the server to stop),
// reading its status about 20 times a second. Returns its last status.
std::string wait_for_terminal(HandlerContext &context, const std::string &id, int seconds);

} // namespace tr::fcgi
