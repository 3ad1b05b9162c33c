// Server-sent events, as https://html.spec.whatwg.org/multipage/server-sent-events.html parses
// them: fields "name: value" (one optional space), ":" comments, a blank line ends an event.
#include "client/event_stream.h"

#include "client/bad_response.h"

namespace tr::client {

bool EventStreamParser::feed(std::string_view bytes,
                             const std::function<bool(const ServerSentEvent &)> &on_event) {
    for (const char c : bytes) {
        if (c != '\n') {
            line_ += c;
            if (line_.size() + pending_.data.size() > max_event_bytes_)
                throw BadResponse("an event of the stream is over " +
                                  std::to_string(max_event_bytes_) + " bytes");
            continue;
        }
        std::string_view line(line_);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const bool go_on = take_line(line, on_event);
        line_.clear();
        if (!go_on)
            return false;
    }
    return true;
}

bool EventStreamParser::take_line(std::string_view line,
                                  const std::function<bool(const ServerSentEvent &)> &on_event) {
    if (line.empty()) {
        if (!has_data_) {
            pending_.event = "message"; // the standard: an event without data is not dispatched
            return true;
        }
        ServerSentEvent event = pending_;
        if (!event.data.empty() && event.data.back() == '\n')
            event.data.pop_back();
        pending_.data.clear();
        pending_.event = "message";
        has_data_ = false;
        return on_event(event); // the id stays: it is the stream's last id until the next one
    }
    if (line.front() == ':')
        return true;
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
    if (name == "data") {
        pending_.data.append(value).append("\n");
        has_data_ = true;
    } else if (name == "event") {
        pending_.event = std::string(value);
    } else if (name == "id" && value.find('\0') == std::string_view::npos) {
        pending_.id = std::string(value);
    } else if (name == "retry" && !value.empty() && value.size() <= 9 &&
               value.find_first_not_of("0123456789") == std::string_view::npos) {
        retry_ = std::chrono::milliseconds(std::stol(std::string(value)));
    }
    return true;
}

} // namespace tr::client
