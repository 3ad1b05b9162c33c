// How a Client's requests travel: one small interface, two implementations (HTTP over libcurl,
// and in-process through the server's own router). Client methods are written once above it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tr::client {

struct Reply {
    long status = 0;
    std::string body;       // empty for a stream that was delivered to on_body
    std::string request_id; // the server's X-Request-Id, when it sent one
};

// Receives a streamed body piece by piece; false ends the stream.
using BodySink = std::function<bool(std::string_view piece)>;

class Transport {
public:
    virtual ~Transport() = default;

    // One request. `target` is the path and query ("/api/v1/tasks/42?wait=5"); `held` is how long
    // the server may hold the request on purpose (a ?wait), added to the usual time limit.
    // Throws task_runner::TransportError when no answer arrives, task_runner::Interrupted when
    // the interrupt check said so. Any HTTP status is a Reply.
    virtual Reply send(const std::string &method, const std::string &target,
                       const std::string &body, std::chrono::seconds held) = 0;

    // GET `target` as a server-sent event stream, resuming after `last_event_id`: the body of a
    // 200 goes to `sink` as it arrives, until the server ends it or `sink` returns false. Any
    // other status comes back with its body. Throws as send() does, also when the connection
    // breaks in the middle of the stream.
    virtual Reply stream(const std::string &target, std::optional<std::int64_t> last_event_id,
                         const BodySink &sink) = 0;

    // Sleeps for `delay` unless the interrupt check says to stop first (then throws
    // task_runner::Interrupted).
    virtual void pause(std::chrono::milliseconds delay) = 0;
};

// Sleeps for `delay` in short steps, throwing task_runner::Interrupted as soon as
// `interrupted` (may be empty) says so.
void pause_unless_interrupted(std::chrono::milliseconds delay,
                              const std::function<bool()> &interrupted);

} // namespace tr::client
