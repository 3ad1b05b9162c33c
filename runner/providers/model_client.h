// HTTP for model calls: one libcurl handle per runner worker, reused call after call so the
// connection to the provider stays open (keep-alive). Every call is bounded by the model's
// timeout and the task's remaining time, a stalled transfer is cut, and a task that is
// cancelled or times out aborts its call within a second (curl's progress callback). Transient
// failures are retried with backoff; a 429 also makes every worker wait (core/provider_backoff).
#pragma once

#include "core/curl.h"
#include "core/db.h"
#include "core/log.h"
#include "core/model.h"
#include "runner/providers/wire.h"

#include <random>
#include <string>

namespace tr::runner {

inline constexpr std::size_t max_model_response_bytes = std::size_t{8} * 1024 * 1024;

struct CallPolicy {
    int max_retries = 3;
    double retry_delay_seconds = 1;
    std::string task_id; // for the log
};

// Where a call reads and reports what it goes through: the rate-limit backoff every runner
// shares is in `db` (core/provider_backoff); waits and retries go to `log`, and each retry to
// `on_retry`, which tells the task.
struct CallReporting {
    Db &db;
    const Log &log;
    const RetryObserver &on_retry;
};

class ModelClient {
public:
    ModelClient();

    // One model call, retried as the policy says. Throws TaskStopped when the task must stop
    // (its deadline passed during the call, or it was cancelled), TaskFailure(MODEL_ERROR)
    // naming the provider, the HTTP status and the provider's own message — never the key —
    // for a failure that retrying cannot fix or that outlasted the retries.
    ChatReply call(const ResolvedModel &model, const Wire &wire, const ChatRequest &request,
                   const CallPolicy &policy, const TaskControl &control,
                   const CallReporting &reporting);

private:
    struct Attempt {
        CURLcode code = CURLE_OK;
        std::string curl_error;
        long status = 0;
        std::string body;
        std::vector<std::string> headers;
        bool oversize = false;
        bool deadline_bound = false; // its time limit was what was left of the task's
        // Whether the provider answered with a reply to read (HTTP 2xx, whole).
        bool answered() const {
            return code == CURLE_OK && !oversize && status >= 200 && status < 300;
        }
    };

    Attempt perform(const HttpCall &http, const ResolvedModel &model, const TaskControl &control);
    // Why an attempt that was not answered() failed. Throws TaskFailure when retrying cannot
    // help (an HTTP status that is not transient).
    static std::string failure_of(const Attempt &result, const ResolvedModel &model,
                                  const Wire &wire);
    // How long to wait before retry number `attempt` + 1 (the provider's Retry-After if it
    // sent one); a 429 makes every runner wait that long.
    std::chrono::milliseconds retry_delay(const ResolvedModel &model, const CallPolicy &policy,
                                          int attempt, const Attempt &result,
                                          const std::string &failure, Db &db);

    CurlPtr handle_;
    std::mt19937 jitter_;
};

} // namespace tr::runner
