// The exception that ends a task without completing it: a task error code (core/task.h,
// task_error::...) and a message for the task's `error` field. Thrown inside the runner's task
// boundary (run_task.cpp) and caught there only; never an HTTP error.
#pragma once

#include <stdexcept>
#include <string>

namespace tr::runner {

class TaskFailure : public std::runtime_error {
public:
    TaskFailure(const char *code, const std::string &message)
        : std::runtime_error(message), code_(code) {}

    const char *code() const noexcept { return code_; }

private:
    const char *code_;
};

// Thrown when TaskControl says stop; the boundary turns it into the matching final status.
class TaskStopped : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace tr::runner
