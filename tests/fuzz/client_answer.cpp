// Fuzz target: a server's answer as the client library reads it (a hostile server is the
// attack): the input is read as each kind of JSON answer, and as an event stream fed in pieces
// whose sizes come from the input's first byte, each event read as the Client reads it.
//
// Beyond not crashing: the readers throw only BadResponse (which the Client turns into
// ApiError INVALID_RESPONSE), the parser never holds more than its limit, and events come out
// the same however the stream is cut.
#include "client/bad_response.h"
#include "client/event_stream.h"
#include "client/response_json.h"
#include "fuzz_support.h"

#include <cstdint>
#include <string>
#include <vector>

namespace {

template <typename Read> void read_or_refuse(Read read) {
    try {
        read();
    } catch (const tr::client::BadResponse &) {
        // refused with a message: what a hostile answer should get
    }
}

std::vector<std::string> events_of(std::string_view stream, std::size_t piece) {
    std::vector<std::string> seen;
    tr::client::EventStreamParser parser(4096);
    try {
        for (std::size_t at = 0; at < stream.size(); at += piece)
            parser.feed(stream.substr(at, piece), [&seen](const tr::client::ServerSentEvent &e) {
                seen.push_back(e.id.value_or("-") + "|" + e.event + "|" + e.data);
                read_or_refuse([&e] { tr::client::read_task_event(1, e.event, e.data); });
                return true;
            });
    } catch (const tr::client::BadResponse &) {
        seen.emplace_back("over the limit");
    }
    return seen;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text = tr::fuzz::as_text(data, size);
    read_or_refuse([&] { tr::client::read_task_response(text); });
    read_or_refuse([&] { tr::client::read_submit_response(text, true); });
    read_or_refuse([&] { tr::client::read_batch_response(text, true); });
    read_or_refuse([&] { tr::client::read_batch_status(text); });
    read_or_refuse([&] { tr::client::read_task_list(text); });
    read_or_refuse([&] { tr::client::read_service_status(text); });
    const std::size_t piece = size > 0 ? 1 + data[0] % 16 : 1;
    tr::fuzz::require(events_of(text, piece) == events_of(text, text.size() + 1),
                      "the events depend on how the stream was cut");
    return 0;
}
