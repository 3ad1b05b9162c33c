// The Anthropic Messages wire format (POST {endpoint}/messages, x-api-key, anthropic-version).
// Unlike chat completions: the system prompt is a top-level field, max_tokens is required,
// tool calls are "tool_use" content blocks with an input object, and results go back as
// "tool_result" blocks inside the next user message, which must hold one for every tool_use.
#include "runner/providers/wire.h"

namespace tr::runner {
namespace {

constexpr const char *api_version = "2023-06-01";

json_t *assistant_json(const Message &message) {
    json_t *content = json_array();
    if (!message.content.empty())
        json_array_append_new(
            content, json_pack("{s:s,s:o}", "type", "text", "text", json_text(message.content)));
    for (const ToolCall &call : message.tool_calls)
        json_array_append_new(
            content,
            json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id", call.id.c_str(), "name",
                      call.name.c_str(), "input",
                      call.arguments ? json_deep_copy(call.arguments.get()) : json_object()));
    return json_pack("{s:s,s:o}", "role", "assistant", "content", content);
}

json_t *tool_result_json(const Message &message) {
    return json_pack("{s:s,s:s,s:o,s:b}", "type", "tool_result", "tool_use_id",
                     message.tool_call_id.c_str(), "content", json_text(message.content),
                     "is_error", message.is_error);
}

// Our conversation has one message per tool result; here consecutive results form one user
// message, as the API requires.
json_t *messages_json(const std::vector<Message> &conversation) {
    json_t *messages = json_array();
    json_t *pending_results = nullptr;
    const auto flush = [&] {
        if (pending_results)
            json_array_append_new(
                messages, json_pack("{s:s,s:o}", "role", "user", "content", pending_results));
        pending_results = nullptr;
    };
    for (const Message &message : conversation) {
        if (message.role == Role::Tool) {
            if (!pending_results)
                pending_results = json_array();
            json_array_append_new(pending_results, tool_result_json(message));
            continue;
        }
        flush();
        if (message.role == Role::Assistant)
            json_array_append_new(messages, assistant_json(message));
        else
            json_array_append_new(messages, json_pack("{s:s,s:o}", "role", "user", "content",
                                                      json_text(message.content)));
    }
    flush();
    return messages;
}

class AnthropicWire final : public Wire {
public:
    HttpCall build(const ChatRequest &request, const std::string &endpoint,
                   const std::string &api_key) const override {
        JsonPtr body(json_pack("{s:s,s:i,s:f,s:o}", "model", request.model.c_str(), "max_tokens",
                               request.max_tokens, "temperature", request.temperature, "messages",
                               messages_json(*request.messages)));
        if (!request.system.empty())
            json_object_set_new(body.get(), "system", json_text(request.system));
        if (request.tools && !request.tools->empty()) {
            JsonPtr tools(json_array());
            for (const ToolSpec &tool : *request.tools)
                json_array_append_new(tools.get(),
                                      json_pack("{s:s,s:s,s:O}", "name", tool.name.c_str(),
                                                "description", tool.description.c_str(),
                                                "input_schema", tool.parameters.get()));
            json_object_set(body.get(), "tools", tools.get());
            json_object_set_new(
                body.get(), "tool_choice",
                request.forced_tool.empty()
                    ? json_pack("{s:s}", "type", "auto")
                    : json_pack("{s:s,s:s}", "type", "tool", "name", request.forced_tool.c_str()));
        }
        HttpCall call;
        call.url = endpoint + "/messages";
        call.headers = {"Content-Type: application/json", "Accept: application/json",
                        std::string("anthropic-version: ") + api_version};
        if (!api_key.empty())
            call.headers.push_back("x-api-key: " + api_key);
        call.body = dump_json(body.get());
        return call;
    }

    ChatReply parse(std::string_view text) const override {
        const JsonPtr body = parse_reply(text);
        const json_t *content = json_object_get(body.get(), "content");
        if (!json_is_array(content))
            throw WireError("the response has no content array");
        ChatReply reply;
        reply.stop_reason = text_member(body.get(), "stop_reason");
        std::size_t index;
        json_t *block;
        json_array_foreach(content, index, block) {
            const std::string type = text_member(block, "type");
            if (type == "text") {
                reply.text += (reply.text.empty() ? "" : "\n") + text_member(block, "text");
                continue;
            }
            if (type != "tool_use")
                continue; // thinking and other blocks carry nothing the loop uses
            ToolCall call;
            call.id = text_member(block, "id");
            call.name = text_member(block, "name");
            if (call.id.empty() || call.name.empty())
                throw WireError("content[" + std::to_string(index) +
                                "] is a tool_use without id or name");
            const json_t *input = json_object_get(block, "input");
            if (json_is_object(input))
                call.arguments = json_share(const_cast<json_t *>(input));
            else
                call.argument_error = std::string("the input is not a JSON object (got ") +
                                      (input ? json_type_name(input) : "nothing") + ")";
            reply.tool_calls.push_back(std::move(call));
        }
        const json_t *usage = json_object_get(body.get(), "usage");
        reply.usage.input = token_count(usage, "input_tokens");
        reply.usage.output = token_count(usage, "output_tokens");
        return reply;
    }

    std::string error_message(std::string_view text) const override {
        json_error_t error;
        JsonPtr body(json_loadb(text.data(), text.size(), 0, &error));
        return text_member(json_object_get(body.get(), "error"), "message");
    }
};

} // namespace

std::unique_ptr<Wire> make_anthropic_wire() {
    return std::make_unique<AnthropicWire>();
}

} // namespace tr::runner
