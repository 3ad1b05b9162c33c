// The runner's webhook thread: claims due deliveries (core/webhook_deliveries.h), signs and sends
// each, records the attempt. One thread apart from the task workers, so a slow receiver never
// holds a task up; one delivery at a time per runner, several runners share the work.
#pragma once

#include "core/config.h"
#include "core/log.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace tr {
class Db;
}

namespace tr::runner {

class WebhookSender {
public:
    // Starts the thread. `runner_id` names the leases it takes.
    WebhookSender(const Config &config, const Log &log, std::string runner_id);
    WebhookSender(const WebhookSender &) = delete;
    WebhookSender &operator=(const WebhookSender &) = delete;
    // Stops the thread: a transfer under way is abandoned unrecorded (its lease lapses, and it is
    // sent again later: at least once).
    ~WebhookSender();

private:
    void run() noexcept;
    bool deliver_next(Db &db); // false: nothing was due
    void pause(std::chrono::milliseconds longest);

    const Config &config_;
    const Log &log_;
    const std::string runner_id_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable stopped_;
    std::thread thread_; // last: started once the members above exist
};

} // namespace tr::runner
