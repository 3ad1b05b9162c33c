// A wire format: how one provider family's HTTP API spells a chat request with tools, and how
// to read its answer. Pure functions of their input, so each is tested from recorded
// real-format fixtures; model_client.cpp does the HTTP. A new provider family is one new file.
#pragma once

#include "runner/providers/provider.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tr::runner {

struct ToolSpec {
    std::string name;
    std::string description;
    JsonPtr parameters; // JSON Schema of the arguments object
};

struct ChatRequest {
    std::string model;
    std::string system;
    const std::vector<Message> *messages = nullptr;
    const std::vector<ToolSpec> *tools = nullptr;
    std::string forced_tool; // the model must call this tool; empty: its choice
    int max_tokens = 0;
    double temperature = 0;
};

struct ChatReply {
    std::string text;
    std::vector<ToolCall> tool_calls;
    TokenUsage usage;
    std::string stop_reason; // the provider's own: "stop", "tool_calls", "end_turn", "length"...
};

struct HttpCall {
    std::string url;
    std::vector<std::string> headers; // carry the key: never logged, never stored
    std::string body;
};

// The provider's answer was not what its API documents (malformed or truncated JSON, missing
// fields). Thrown by parse(); the caller may retry.
class WireError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Wire {
public:
    virtual ~Wire() = default;

    virtual HttpCall build(const ChatRequest &request, const std::string &endpoint,
                           const std::string &api_key) const = 0;
    virtual ChatReply parse(std::string_view body) const = 0;
    // The provider's own message from an error response, or "" when it has none.
    virtual std::string error_message(std::string_view body) const = 0;
};

// Helpers for the Wire implementations: the reply as JSON (throws WireError when it is not),
// and a string member or "" when absent.
JsonPtr parse_reply(std::string_view text);
std::string text_member(const json_t *object, const char *key);

// No model call reports more tokens than this (the largest context windows hold millions).
inline constexpr long long max_reported_tokens = 1000000000;

// A token count of a usage object: 0 when absent, not an integer or negative, and at most
// max_reported_tokens. The loop adds these up against the task's budget: a negative count
// would give tokens back, a huge one overflow the sum.
long long token_count(const json_t *usage, const char *key);

std::unique_ptr<Wire> make_openai_wire();
std::unique_ptr<Wire> make_anthropic_wire();

} // namespace tr::runner
