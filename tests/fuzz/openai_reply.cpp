// Fuzz target: a response body of the OpenAI Chat Completions wire format
// (runner/providers/openai.cpp), read as an answer and as an error; see provider_reply.h for what
// is checked.
#include "provider_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const auto wire = tr::runner::make_openai_wire();
    tr::fuzz::run_wire(*wire, tr::fuzz::as_text(data, size));
    return 0;
}
