// Server-sent events (text/event-stream, WHATWG HTML §9.2) as GET /api/v1/tasks/{id}/events
// sends them: the parser, pure and fed in arbitrary pieces.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr::cli {

struct ServerEvent {
    std::optional<long long> id; // the stream's "id:" (what Last-Event-ID resumes after)
    std::string kind;            // "event:", "message" when absent
    std::string data;            // the "data:" lines joined with \n
};

class EventStreamParser {
public:
    // The events completed by `bytes` (an event ends at a blank line). Comments (": keep-alive")
    // and fields other than id, event and data are skipped; an id that is not a number is
    // ignored, as the spec ignores ids with NUL.
    std::vector<ServerEvent> feed(std::string_view bytes);

private:
    void take_line(std::string_view line, std::vector<ServerEvent> &done);

    std::string pending_;  // an incomplete line
    bool skip_lf_ = false; // the last piece ended in \r: a \n next is the same line break
    ServerEvent event_{};
    bool has_data_ = false;
};

} // namespace tr::cli
