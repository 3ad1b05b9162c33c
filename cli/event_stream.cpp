// The event-stream parser.
#include "cli/event_stream.h"

#include <cerrno>
#include <cstdlib>

namespace tr::cli {

std::vector<ServerEvent> EventStreamParser::feed(std::string_view bytes) {
    std::vector<ServerEvent> done;
    for (const char c : bytes) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (c == '\n')
                continue;
        }
        if (c == '\r' || c == '\n') { // CRLF, CR and LF all end a line
            skip_lf_ = c == '\r';
            take_line(pending_, done);
            pending_.clear();
            continue;
        }
        pending_ += c;
    }
    return done;
}

void EventStreamParser::take_line(std::string_view line, std::vector<ServerEvent> &done) {
    if (line.empty()) {
        if (has_data_)
            done.push_back(std::move(event_));
        event_ = ServerEvent{};
        has_data_ = false;
        return;
    }
    if (line[0] == ':')
        return; // a comment: the server's keep-alive
    const std::size_t colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ')
        value.remove_prefix(1);
    if (field == "data") {
        if (has_data_)
            event_.data += '\n';
        event_.data += value;
        has_data_ = true;
    } else if (field == "event") {
        event_.kind = value;
    } else if (field == "id") {
        const std::string text(value);
        char *end = nullptr;
        errno = 0;
        const long long id = std::strtoll(text.c_str(), &end, 10);
        if (!text.empty() && *end == '\0' && errno == 0)
            event_.id = id;
    }
    if (event_.kind.empty())
        event_.kind = "message";
}

} // namespace tr::cli
