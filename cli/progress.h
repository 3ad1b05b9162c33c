// A task's progress as its event stream tells it: the plan, then each step as it starts and
// ends. On a terminal the running step has a spinner and its elapsed time, redrawn in place by a
// thread of its own; elsewhere (a pipe, a file, cron's mail) every change is one plain line.
#pragma once

#include <task_runner/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace tr::cli {

class Progress {
public:
    // Writes to `out`; `live`: a terminal, redrawn in place. Not copyable; the spinner thread
    // stops in the destructor.
    Progress(std::FILE *out, bool live);
    Progress(const Progress &) = delete;
    Progress &operator=(const Progress &) = delete;
    ~Progress();

    void show(const std::string &task_id, const task_runner::TaskEvent &event);
    // Clears the spinner line; what follows is printed below the progress.
    void finish();

private:
    void spin();
    void print_line(const std::string &line); // under the lock
    void draw_spinner();                      // under the lock

    std::FILE *out_;
    const bool live_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::string running_; // the step now running, as shown beside the spinner; empty: none
    std::chrono::steady_clock::time_point running_since_{};
    unsigned frame_ = 0;
    std::thread spinner_; // live only
};

// Whether `fd` is a terminal that understands cursor movement (not TERM=dumb).
bool is_live_terminal(int fd);

} // namespace tr::cli
