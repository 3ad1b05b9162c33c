// The OpenAI Chat Completions wire format (POST {endpoint}/chat/completions), which every
// OpenAI-compatible service speaks: Zhipu GLM-4, DeepSeek, Moonshot, vLLM, llama.cpp's server,
// Ollama's /v1. Tools are "function" tools; a call's arguments travel as a JSON *string*.
#include "runner/providers/wire.h"

namespace tr::runner {
namespace {

json_t *tool_call_json(const ToolCall &call) {
    // Arguments that could not be parsed go back as {}: the error result that answers the call
    // tells the model what was wrong with what it sent.
    const std::string arguments = call.arguments ? dump_json(call.arguments.get()) : "{}";
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", call.id.c_str(), "type", "function", "function",
                     "name", call.name.c_str(), "arguments", arguments.c_str());
}

json_t *message_json(const Message &message) {
    switch (message.role) {
    case Role::User:
        return json_pack("{s:s,s:o}", "role", "user", "content", json_text(message.content));
    case Role::Assistant: {
        json_t *out = json_pack("{s:s,s:o}", "role", "assistant", "content",
                                message.content.empty() ? json_null() : json_text(message.content));
        if (!message.tool_calls.empty()) {
            json_t *calls = json_array();
            for (const ToolCall &call : message.tool_calls)
                json_array_append_new(calls, tool_call_json(call));
            json_object_set_new(out, "tool_calls", calls);
        }
        return out;
    }
    case Role::Tool:
        // No error flag in this format: a failure says so in its text.
        return json_pack(
            "{s:s,s:s,s:o}", "role", "tool", "tool_call_id", message.tool_call_id.c_str(),
            "content", json_text(message.is_error ? "Error: " + message.content : message.content));
    }
    return json_null();
}

class OpenAiWire final : public Wire {
public:
    HttpCall build(const ChatRequest &request, const std::string &endpoint,
                   const std::string &api_key) const override {
        JsonPtr messages(json_array());
        if (!request.system.empty())
            json_array_append_new(messages.get(), json_pack("{s:s,s:o}", "role", "system",
                                                            "content", json_text(request.system)));
        for (const Message &message : *request.messages)
            json_array_append_new(messages.get(), message_json(message));
        JsonPtr body(json_pack("{s:s,s:O,s:i,s:f}", "model", request.model.c_str(), "messages",
                               messages.get(), "max_tokens", request.max_tokens, "temperature",
                               request.temperature));
        if (request.tools && !request.tools->empty()) {
            JsonPtr tools(json_array());
            for (const ToolSpec &tool : *request.tools)
                json_array_append_new(tools.get(),
                                      json_pack("{s:s,s:{s:s,s:s,s:O}}", "type", "function",
                                                "function", "name", tool.name.c_str(),
                                                "description", tool.description.c_str(),
                                                "parameters", tool.parameters.get()));
            json_object_set(body.get(), "tools", tools.get());
            json_object_set_new(body.get(), "tool_choice",
                                request.forced_tool.empty()
                                    ? json_string("auto")
                                    : json_pack("{s:s,s:{s:s}}", "type", "function", "function",
                                                "name", request.forced_tool.c_str()));
        }
        HttpCall call;
        call.url = endpoint + "/chat/completions";
        call.headers = {"Content-Type: application/json", "Accept: application/json"};
        if (!api_key.empty())
            call.headers.push_back("Authorization: Bearer " + api_key);
        call.body = dump_json(body.get());
        return call;
    }

    ChatReply parse(std::string_view text) const override {
        const JsonPtr body = parse_reply(text);
        const json_t *choice = json_array_get(json_object_get(body.get(), "choices"), 0);
        const json_t *message = json_object_get(choice, "message");
        if (!json_is_object(message))
            throw WireError("the response has no choices[0].message");
        ChatReply reply;
        reply.text = text_member(message, "content");
        reply.stop_reason = text_member(choice, "finish_reason");
        std::size_t index;
        json_t *call;
        json_array_foreach(json_object_get(message, "tool_calls"), index, call) {
            const json_t *function = json_object_get(call, "function");
            ToolCall parsed;
            parsed.id = text_member(call, "id");
            parsed.name = text_member(function, "name");
            if (parsed.id.empty()) // some compatible servers omit it; the history needs one
                parsed.id = "call_" + std::to_string(index + 1);
            if (parsed.name.empty())
                throw WireError("tool_calls[" + std::to_string(index) + "] has no function name");
            const json_t *arguments = json_object_get(function, "arguments");
            if (json_is_object(arguments)) { // a few servers send an object, not a string
                parsed.arguments = json_share(const_cast<json_t *>(arguments));
            } else {
                const std::string raw = text_member(function, "arguments");
                json_error_t error;
                JsonPtr value(json_loadb(raw.data(), raw.size(), JSON_REJECT_DUPLICATES, &error));
                if (raw.empty())
                    parsed.arguments.reset(json_object());
                else if (json_is_object(value.get()))
                    parsed.arguments = std::move(value);
                else
                    parsed.argument_error =
                        value ? std::string("the arguments are not a JSON object (got ") +
                                    json_type_name(value.get()) + ")"
                              : std::string("the arguments are not a JSON object: ") + error.text;
            }
            reply.tool_calls.push_back(std::move(parsed));
        }
        const json_t *usage = json_object_get(body.get(), "usage");
        reply.usage.input = token_count(usage, "prompt_tokens");
        reply.usage.output = token_count(usage, "completion_tokens");
        return reply;
    }

    std::string error_message(std::string_view text) const override {
        json_error_t error;
        JsonPtr body(json_loadb(text.data(), text.size(), 0, &error));
        const json_t *detail = json_object_get(body.get(), "error");
        if (json_is_string(detail)) // some compatible servers: {"error": "message"}
            return json_string_value(detail);
        return text_member(detail, "message");
    }
};

} // namespace

std::unique_ptr<Wire> make_openai_wire() {
    return std::make_unique<OpenAiWire>();
}

} // namespace tr::runner
