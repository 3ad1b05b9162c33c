// What the provider fuzz targets share: one model response through a wire format's parser (the
// answer) and its error reader (the provider's message in an error body), as model_client.cpp
// uses them.
//
// Beyond not crashing: parse() fails only with WireError; every tool call it returns has an id
// and a name, and either an object of arguments or the reason it has none; token counts are
// what a budget can add up (never negative, never near overflow).
#pragma once

#include "fuzz_support.h"
#include "runner/providers/wire.h"

#include <string>
#include <string_view>

namespace tr::fuzz {

inline void check_reply(const runner::ChatReply &reply) {
    for (const runner::ToolCall &call : reply.tool_calls) {
        require(!call.id.empty() && !call.name.empty(), "a tool call without an id or a name");
        require(call.arguments ? json_is_object(call.arguments.get()) && call.argument_error.empty()
                               : !call.argument_error.empty(),
                "a tool call with neither an arguments object nor the reason it has none");
    }
    for (const long long tokens : {reply.usage.input, reply.usage.output})
        require(tokens >= 0 && tokens <= runner::max_reported_tokens,
                "a token count a budget cannot add up: " + std::to_string(tokens));
}

inline void run_wire(const runner::Wire &wire, std::string_view body) {
    try {
        check_reply(wire.parse(body));
    } catch (const runner::WireError &) {
        // the documented refusal: the caller retries or fails the task
    }
    wire.error_message(body);
}

} // namespace tr::fuzz
