// An incremental parser of text/event-stream (the HTML standard's server-sent events), fed the
// body as it arrives in pieces of any size. Bounded: a line or an event over the limit is a
// BadResponse, so a hostile server cannot make it hold unbounded memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tr::client {

struct ServerSentEvent {
    std::optional<std::string> id; // the last id: field seen, if any
    std::string event = "message";
    std::string data;
};

class EventStreamParser {
public:
    explicit EventStreamParser(std::size_t max_event_bytes = std::size_t{1} << 20)
        : max_event_bytes_(max_event_bytes) {}

    // Parses `bytes`, calling `on_event` for each complete event; returns false as soon as
    // `on_event` does (the rest of `bytes` is dropped). Throws BadResponse over the limit.
    bool feed(std::string_view bytes, const std::function<bool(const ServerSentEvent &)> &on_event);

    // The last retry: field, the reconnection delay the server asks for.
    std::optional<std::chrono::milliseconds> retry() const noexcept { return retry_; }

private:
    bool take_line(std::string_view line, const std::function<bool(const ServerSentEvent &)> &on);

    std::size_t max_event_bytes_;
    std::string line_;
    ServerSentEvent pending_;
    bool has_data_ = false;
    std::optional<std::chrono::milliseconds> retry_;
};

} // namespace tr::client
