// Model calls over HTTP with timeouts, aborts, retries and the shared rate-limit backoff.
#include "runner/providers/model_client.h"

#include "core/error.h"
#include "core/provider_backoff.h"
#include "core/random.h"
#include "core/task.h"
#include "runner/providers/retry.h"
#include "runner/task_failure.h"

#include <algorithm>
#include <thread>

namespace tr::runner {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds connect_timeout{10000};
constexpr milliseconds stop_check_slice{50};

struct Sink {
    std::string *body;
    std::vector<std::string> *headers;
    bool *oversize;
};

// curl callbacks are C: they never throw; they report through their return value.
extern "C" size_t collect_body(char *data, size_t size, size_t count, void *user) noexcept {
    auto *sink = static_cast<Sink *>(user);
    const std::size_t bytes = size * count;
    if (sink->body->size() + bytes > max_model_response_bytes) {
        *sink->oversize = true;
        return 0; // curl fails the transfer with CURLE_WRITE_ERROR
    }
    try {
        sink->body->append(data, bytes);
        return bytes;
    } catch (...) {
        return 0;
    }
}

extern "C" size_t collect_header(char *data, size_t size, size_t count, void *user) noexcept {
    try {
        std::string line(data, size * count);
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
            line.pop_back();
        static_cast<Sink *>(user)->headers->push_back(std::move(line));
        return size * count;
    } catch (...) {
        return 0;
    }
}

// Called by curl at least once a second, also while nothing arrives: the task's stop flags
// reach an in-flight call this way.
extern "C" int abort_when_stopped(void *control, curl_off_t, curl_off_t, curl_off_t,
                                  curl_off_t) noexcept {
    return static_cast<const TaskControl *>(control)->stop_reason() ? 1 : 0;
}

std::optional<std::string> header_value(const std::vector<std::string> &headers,
                                        std::string_view name) {
    for (const std::string &line : headers) {
        const std::size_t colon = line.find(':');
        if (colon != name.size())
            continue;
        bool same = true;
        for (std::size_t i = 0; i < colon && same; ++i)
            same = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
        if (same)
            return line.substr(colon + 1);
    }
    return std::nullopt;
}

// The provider's own words, without the key if it quotes it back, and not a novel.
std::string provider_message(const Wire &wire, const std::string &body,
                             const std::string &api_key) {
    std::string message = wire.error_message(body);
    if (message.empty())
        message = body.substr(0, 200);
    if (api_key.size() >= 4)
        for (std::size_t at; (at = message.find(api_key)) != std::string::npos;)
            message.replace(at, api_key.size(), "[redacted]");
    if (message.size() > 500)
        message = message.substr(0, 500) + "...";
    return to_valid_utf8(message);
}

// Sleeps in short slices; false as soon as the task must stop.
bool wait_unless_stopped(milliseconds delay, const TaskControl &control) {
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
        if (control.stop_reason())
            return false;
        std::this_thread::sleep_for(std::min(
            stop_check_slice,
            std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now())));
    }
    return !control.stop_reason();
}

std::string seconds_text(milliseconds delay) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(delay.count()) / 1000.0);
    return text;
}

} // namespace

ModelClient::ModelClient() : handle_(curl_easy_init()) {
    if (!handle_)
        throw Error(ErrorCode::InternalError, "curl_easy_init failed");
    std::uint32_t seed;
    fill_random(&seed, sizeof seed);
    jitter_.seed(seed);
}

ModelClient::Attempt ModelClient::perform(const HttpCall &http, const ResolvedModel &model,
                                          const TaskControl &control) {
    Attempt attempt;
    CURL *curl = handle_.get();
    curl_easy_reset(curl); // drops the last call's options, keeps its open connection
    CurlHeaders headers;
    for (const std::string &header : http.headers)
        headers.append(header);
    Sink sink{&attempt.body, &attempt.headers, &attempt.oversize};
    char error[CURL_ERROR_SIZE] = "";
    const milliseconds remaining = control.remaining();
    const milliseconds total =
        std::min<milliseconds>(std::chrono::seconds(model.timeout_seconds), remaining);
    attempt.deadline_bound = total == remaining;
    curl_easy_setopt(curl, CURLOPT_URL, http.url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, http.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(http.body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); // the endpoint is the endpoint
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, std::max<long>(1, static_cast<long>(total.count())));
    curl_easy_setopt(
        curl, CURLOPT_CONNECTTIMEOUT_MS,
        std::max<long>(1, static_cast<long>(std::min(connect_timeout, total).count())));
    // A provider that stops sending is a timeout, not a hang. The window is the model's own
    // timeout: without streaming, nothing arrives until the whole answer is generated.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(model.timeout_seconds));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_when_stopped);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &control);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    attempt.code = curl_easy_perform(curl);
    attempt.curl_error = error[0] ? error : curl_easy_strerror(attempt.code);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &attempt.status);
    return attempt;
}

namespace {

// Someone got a 429 from this endpoint: wait its Retry-After out, as everyone does.
void wait_out_backoff(const ResolvedModel &model, const CallPolicy &policy,
                      const TaskControl &control, const CallReporting &reporting) {
    const std::optional<TimePoint> until =
        provider_backoff_until(reporting.db, model.endpoint, Clock::now());
    if (!until)
        return;
    const std::string &provider = model.provider;
    const auto wait = std::chrono::duration_cast<milliseconds>(*until - Clock::now());
    if (wait >= control.remaining())
        throw TaskFailure(task_error::model_error, provider + " is rate limited until " +
                                                       format_utc(*until) +
                                                       ", after this task's deadline");
    reporting.log.info("llm.rate_limit_wait", {{"task_id", policy.task_id},
                                               {"provider", provider},
                                               {"wait_ms", static_cast<long long>(wait.count())}});
    if (!wait_unless_stopped(wait, control))
        throw TaskStopped("stopped while " + provider + " was rate limited");
}

} // namespace

std::string ModelClient::failure_of(const Attempt &result, const ResolvedModel &model,
                                    const Wire &wire) {
    const std::string &provider = model.provider;
    if (result.oversize)
        return provider + "'s answer was over " +
               std::to_string(max_model_response_bytes / (std::size_t{1024} * 1024)) + " MiB";
    if (result.code != CURLE_OK)
        return "no answer from " + provider + " at " + model.endpoint + " (" + result.curl_error +
               ")";
    std::string failure = provider + " answered HTTP " + std::to_string(result.status) + ": " +
                          provider_message(wire, result.body, model.api_key);
    if (!is_transient_status(result.status))
        throw TaskFailure(task_error::model_error, failure);
    return failure;
}

std::chrono::milliseconds ModelClient::retry_delay(const ResolvedModel &model,
                                                   const CallPolicy &policy, int attempt,
                                                   const Attempt &result,
                                                   const std::string &failure, Db &db) {
    std::optional<milliseconds> retry_after;
    if (result.code == CURLE_OK && !result.oversize && !result.answered())
        if (const std::optional<std::string> header = header_value(result.headers, "retry-after"))
            retry_after = parse_retry_after(*header, Clock::now());
    const milliseconds delay =
        retry_after.value_or(backoff_delay(policy.retry_delay_seconds, attempt,
                                           std::uniform_real_distribution<double>(0, 1)(jitter_)));
    if (result.status == 429) // everyone backs off, not only this task
        record_provider_backoff(
            db, {model.endpoint, model.provider, format_utc(Clock::now() + delay), 429, failure},
            Clock::now());
    return delay;
}

ChatReply ModelClient::call(const ResolvedModel &model, const Wire &wire,
                            const ChatRequest &request, const CallPolicy &policy,
                            const TaskControl &control, const CallReporting &reporting) {
    const HttpCall http = wire.build(request, model.endpoint, model.api_key);
    const std::string &provider = model.provider;
    for (int attempt = 0;; ++attempt) {
        if (control.stop_reason())
            throw TaskStopped("stopped before a call to " + provider);
        wait_out_backoff(model, policy, control, reporting);
        const Attempt result = perform(http, model, control);
        if (result.code == CURLE_ABORTED_BY_CALLBACK ||
            (result.code != CURLE_OK && control.stop_reason()))
            throw TaskStopped("stopped during a call to " + provider);
        // A call cut off by the task's deadline is the task's timeout, not the provider's
        // failure; curl's clock may end it a moment before ours says the deadline has passed.
        if (result.code == CURLE_OPERATION_TIMEDOUT && result.deadline_bound) {
            wait_unless_stopped(control.remaining() + milliseconds(1), control);
            throw TaskStopped("stopped during a call to " + provider);
        }

        std::string failure;
        if (result.answered()) {
            try {
                return wire.parse(result.body);
            } catch (const WireError &e) { // a failure like any other: retried
                failure = provider + "'s answer could not be read: " + e.what();
            }
        } else {
            failure = failure_of(result, model, wire);
        }

        const milliseconds delay =
            retry_delay(model, policy, attempt, result, failure, reporting.db);
        if (attempt >= policy.max_retries)
            throw TaskFailure(task_error::model_error, failure + " (gave up after " +
                                                           std::to_string(attempt + 1) +
                                                           " attempts)");
        if (delay >= control.remaining())
            throw TaskFailure(task_error::model_error,
                              failure + "; the next attempt, in " + seconds_text(delay) +
                                  ", would fall after the task's deadline");
        reporting.log.warn("llm.retry", {{"task_id", policy.task_id},
                                         {"provider", provider},
                                         {"status", static_cast<long>(result.status)},
                                         {"attempt", attempt + 1},
                                         {"delay_ms", static_cast<long long>(delay.count())},
                                         {"error", failure}});
        reporting.on_retry(failure + "; retrying in " + seconds_text(delay), delay);
        if (!wait_unless_stopped(delay, control))
            throw TaskStopped("stopped while waiting to retry " + provider);
    }
}

} // namespace tr::runner
