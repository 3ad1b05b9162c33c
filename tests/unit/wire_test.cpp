// runner/providers/wire: the OpenAI Chat Completions and Anthropic Messages formats. Requests
// are built from one conversation (a user message, an assistant turn with text and two tool
// calls, their two results, one failed) and read back as JSON; answers are parsed from
// responses recorded in the providers' real formats (tests/unit/fixtures), then broken ones.
#include "runner/providers/wire.h"

#include "core/json.h"
#include "core/tool_catalog.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace tr::runner {
namespace {

using test::contains;

const std::string endpoint = "https://llm.example.test/v1";
const std::string api_key = "sk-test-0123456789abcdef";

std::string recorded(const std::string &name) {
    return test::read_text(std::string(TR_FIXTURES) + "/" + name);
}

ToolCall tool_call(const std::string &id, const std::string &name, const std::string &arguments) {
    ToolCall call;
    call.id = id;
    call.name = name;
    call.arguments = parse_json(arguments);
    return call;
}

Message tool_result(const std::string &call_id, const std::string &tool, const std::string &text,
                    bool is_error) {
    Message message;
    message.role = Role::Tool;
    message.tool_call_id = call_id;
    message.tool_name = tool;
    message.content = text;
    message.is_error = is_error;
    return message;
}

// The conversation every build test sends: a question, an assistant turn that says something
// and calls two tools, and both results, the second a failure.
std::vector<Message> conversation() {
    std::vector<Message> messages;
    Message user;
    user.role = Role::User;
    user.content = "Summarise README.md and list src.";
    messages.push_back(std::move(user));

    Message assistant;
    assistant.role = Role::Assistant;
    assistant.content = "I'll look at both.";
    assistant.tool_calls.push_back(tool_call("call_1", "read_file", R"({"path":"README.md"})"));
    assistant.tool_calls.push_back(tool_call("call_2", "list_files", R"({"path":"src"})"));
    messages.push_back(std::move(assistant));

    messages.push_back(tool_result("call_1", "read_file", "# Task Runner", false));
    messages.push_back(tool_result("call_2", "list_files", "src: No such file or directory", true));
    return messages;
}

std::vector<ToolSpec> tool_specs() {
    const ToolInfo &read_file = *find_tool("read_file");
    std::vector<ToolSpec> tools;
    tools.push_back({read_file.name, read_file.description, tool_parameters(read_file)});
    return tools;
}

// A request over conversation() and tool_specs(), which must outlive it.
struct Chat {
    std::vector<Message> messages = conversation();
    std::vector<ToolSpec> tools = tool_specs();
    ChatRequest request;

    explicit Chat(const std::string &model) {
        request.model = model;
        request.system = "You are Task Runner.";
        request.messages = &messages;
        request.tools = &tools;
        request.max_tokens = 1024;
        request.temperature = 0.25;
    }
};

bool has_header(const HttpCall &call, const std::string &header) {
    return std::find(call.headers.begin(), call.headers.end(), header) != call.headers.end();
}

bool has_header_named(const HttpCall &call, const std::string &name) {
    return std::any_of(call.headers.begin(), call.headers.end(), [&](const std::string &header) {
        return header.size() > name.size() && header[name.size()] == ':' &&
               std::equal(name.begin(), name.end(), header.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) ==
                          std::tolower(static_cast<unsigned char>(b));
               });
    });
}

std::string text_of(const json_t *object, const char *key) {
    return json_string_member(object, key).value_or("(absent or not a string)");
}

const json_t *item(const json_t *object, const char *key, std::size_t index) {
    return json_array_get(json_object_get(object, key), index);
}

// ---- OpenAI: building requests ----

TEST(OpenAiWire, PostsToChatCompletionsUnderTheEndpoint) {
    const Chat chat("gpt-4o-mini");
    const HttpCall call = make_openai_wire()->build(chat.request, endpoint, api_key);
    EXPECT_EQ(call.url, "https://llm.example.test/v1/chat/completions");
    EXPECT_TRUE(has_header(call, "Content-Type: application/json"));
}

TEST(OpenAiWire, SendsTheKeyAsABearerTokenOnlyWhenThereIsOne) {
    const Chat chat("gpt-4o-mini");
    const auto wire = make_openai_wire();
    const HttpCall with_key = wire->build(chat.request, endpoint, api_key);
    EXPECT_TRUE(has_header(with_key, "Authorization: Bearer " + api_key));
    EXPECT_FALSE(contains(with_key.body, api_key));

    const HttpCall without_key = wire->build(chat.request, endpoint, "");
    EXPECT_FALSE(has_header_named(without_key, "Authorization"));
}

TEST(OpenAiWire, SendsTheModelMaxTokensAndTemperature) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    EXPECT_EQ(text_of(body.get(), "model"), "gpt-4o-mini");
    EXPECT_EQ(json_integer_value(json_object_get(body.get(), "max_tokens")), 1024);
    EXPECT_DOUBLE_EQ(json_number_value(json_object_get(body.get(), "temperature")), 0.25);
}

TEST(OpenAiWire, PutsTheSystemPromptFirst) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *messages = json_object_get(body.get(), "messages");
    ASSERT_EQ(json_array_size(messages), 5u); // system, user, assistant, two tool results
    EXPECT_EQ(text_of(json_array_get(messages, 0), "role"), "system");
    EXPECT_EQ(text_of(json_array_get(messages, 0), "content"), "You are Task Runner.");
    EXPECT_EQ(text_of(json_array_get(messages, 1), "role"), "user");
    EXPECT_EQ(text_of(json_array_get(messages, 1), "content"), "Summarise README.md and list src.");
}

TEST(OpenAiWire, SendsNoSystemMessageWhenThereIsNoSystemPrompt) {
    Chat chat("gpt-4o-mini");
    chat.request.system.clear();
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *messages = json_object_get(body.get(), "messages");
    ASSERT_EQ(json_array_size(messages), 4u);
    EXPECT_EQ(text_of(json_array_get(messages, 0), "role"), "user");
}

TEST(OpenAiWire, SendsAssistantToolCallsWithTheirArgumentsAsAJsonString) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *assistant = item(body.get(), "messages", 2);
    EXPECT_EQ(text_of(assistant, "role"), "assistant");
    EXPECT_EQ(text_of(assistant, "content"), "I'll look at both.");
    const json_t *calls = json_object_get(assistant, "tool_calls");
    ASSERT_EQ(json_array_size(calls), 2u);

    const json_t *first = json_array_get(calls, 0);
    EXPECT_EQ(text_of(first, "id"), "call_1");
    EXPECT_EQ(text_of(first, "type"), "function");
    const json_t *function = json_object_get(first, "function");
    EXPECT_EQ(text_of(function, "name"), "read_file");
    const json_t *arguments = json_object_get(function, "arguments");
    ASSERT_TRUE(json_is_string(arguments)) << "arguments must be a JSON string, not an object";
    const JsonPtr decoded = parse_json(json_string_value(arguments));
    EXPECT_EQ(text_of(decoded.get(), "path"), "README.md");

    const json_t *second = json_array_get(calls, 1);
    EXPECT_EQ(text_of(second, "id"), "call_2");
    EXPECT_EQ(text_of(json_object_get(second, "function"), "name"), "list_files");
}

TEST(OpenAiWire, SendsAnAssistantTurnWithoutTextAsNullContent) {
    Chat chat("gpt-4o-mini");
    chat.messages[1].content.clear();
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *assistant = item(body.get(), "messages", 2);
    EXPECT_TRUE(json_is_null(json_object_get(assistant, "content")));
    EXPECT_EQ(json_array_size(json_object_get(assistant, "tool_calls")), 2u);
}

TEST(OpenAiWire, SendsToolResultsWithTheirCallIds) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *first = item(body.get(), "messages", 3);
    EXPECT_EQ(text_of(first, "role"), "tool");
    EXPECT_EQ(text_of(first, "tool_call_id"), "call_1");
    EXPECT_EQ(text_of(first, "content"), "# Task Runner");
    const json_t *second = item(body.get(), "messages", 4);
    EXPECT_EQ(text_of(second, "role"), "tool");
    EXPECT_EQ(text_of(second, "tool_call_id"), "call_2");
}

TEST(OpenAiWire, PrefixesAFailedToolResultWithError) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    EXPECT_EQ(text_of(item(body.get(), "messages", 4), "content"),
              "Error: src: No such file or directory");
    EXPECT_EQ(text_of(item(body.get(), "messages", 3), "content"), "# Task Runner");
}

TEST(OpenAiWire, DescribesToolsAsFunctionsWithTheirParameters) {
    const Chat chat("gpt-4o-mini");
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    const json_t *tools = json_object_get(body.get(), "tools");
    ASSERT_EQ(json_array_size(tools), 1u);
    const json_t *tool = json_array_get(tools, 0);
    EXPECT_EQ(text_of(tool, "type"), "function");
    const json_t *function = json_object_get(tool, "function");
    EXPECT_EQ(text_of(function, "name"), "read_file");
    EXPECT_EQ(text_of(function, "description"), find_tool("read_file")->description);
    EXPECT_TRUE(
        json_equal(json_object_get(function, "parameters"), chat.tools[0].parameters.get()));
}

TEST(OpenAiWire, LetsTheModelChooseItsToolUnlessOneIsForced) {
    Chat chat("gpt-4o-mini");
    const auto wire = make_openai_wire();
    const JsonPtr free_choice = parse_json(wire->build(chat.request, endpoint, "").body);
    EXPECT_EQ(text_of(free_choice.get(), "tool_choice"), "auto");

    chat.request.forced_tool = "read_file";
    const JsonPtr forced = parse_json(wire->build(chat.request, endpoint, "").body);
    const JsonPtr expected = parse_json(R"({"type":"function","function":{"name":"read_file"}})");
    EXPECT_TRUE(json_equal(json_object_get(forced.get(), "tool_choice"), expected.get()))
        << dump_json(json_object_get(forced.get(), "tool_choice"));
}

TEST(OpenAiWire, SendsNeitherToolsNorToolChoiceWithoutTools) {
    Chat chat("gpt-4o-mini");
    chat.tools.clear();
    const JsonPtr body = parse_json(make_openai_wire()->build(chat.request, endpoint, "").body);
    EXPECT_EQ(json_object_get(body.get(), "tools"), nullptr);
    EXPECT_EQ(json_object_get(body.get(), "tool_choice"), nullptr);
}

// ---- OpenAI: reading answers ----

TEST(OpenAiWire, ReadsToolCallsFromARecordedResponse) {
    const ChatReply reply = make_openai_wire()->parse(recorded("openai_tool_calls.json"));
    EXPECT_EQ(reply.text, "");
    EXPECT_EQ(reply.stop_reason, "tool_calls");
    ASSERT_EQ(reply.tool_calls.size(), 2u);

    const ToolCall &first = reply.tool_calls[0];
    EXPECT_EQ(first.id, "call_4Qy7nJkR2mVbX8sTzL1pW3aE");
    EXPECT_EQ(first.name, "read_file");
    EXPECT_EQ(first.argument_error, "");
    ASSERT_TRUE(json_is_object(first.arguments.get()));
    EXPECT_EQ(text_of(first.arguments.get(), "path"), "README.md");

    const ToolCall &second = reply.tool_calls[1];
    EXPECT_EQ(second.id, "call_9HdE2uFq6cYtN0gKrM5vB7xS");
    EXPECT_EQ(second.name, "list_files");
    const JsonPtr expected = parse_json(R"({"path":"src","recursive":true})");
    EXPECT_TRUE(json_equal(second.arguments.get(), expected.get()));

    EXPECT_EQ(reply.usage.input, 412);
    EXPECT_EQ(reply.usage.output, 47);
}

TEST(OpenAiWire, ReadsAPlainAnswerFromARecordedResponse) {
    const ChatReply reply = make_openai_wire()->parse(recorded("openai_text.json"));
    EXPECT_EQ(reply.text, "README.md describes Task Runner: a queue of tasks run by an agent loop "
                          "with file and command tools.");
    EXPECT_TRUE(reply.tool_calls.empty());
    EXPECT_EQ(reply.stop_reason, "stop");
    EXPECT_EQ(reply.usage.input, 603);
    EXPECT_EQ(reply.usage.output, 22);
}

TEST(OpenAiWire, RefusesMalformedJson) {
    const auto wire = make_openai_wire();
    EXPECT_THROW(wire->parse("{\"choices\": [}"), WireError);
    EXPECT_THROW(wire->parse(""), WireError);
    EXPECT_THROW(wire->parse("<html><body>502 Bad Gateway</body></html>"), WireError);
}

TEST(OpenAiWire, RefusesATruncatedResponse) {
    const std::string body = recorded("openai_tool_calls.json");
    EXPECT_THROW(make_openai_wire()->parse(body.substr(0, body.size() / 2)), WireError);
}

TEST(OpenAiWire, RefusesAResponseWithoutChoices) {
    const auto wire = make_openai_wire();
    EXPECT_THROW(wire->parse(R"({"id":"chatcmpl-1","object":"chat.completion"})"), WireError);
    EXPECT_THROW(wire->parse(R"({"id":"chatcmpl-1","choices":[]})"), WireError);
    EXPECT_THROW(wire->parse(R"({"choices":[{"index":0,"finish_reason":"stop"}]})"), WireError);
    EXPECT_THROW(wire->parse(R"([{"message":{"content":"hi"}}])"), WireError);
}

// The body of a response whose one tool call has these raw `arguments` (a JSON string value).
std::string openai_call_with_arguments(const std::string &arguments) {
    JsonPtr body(json_pack("{s:[{s:{s:s,s:n,s:[{s:s,s:s,s:{s:s,s:s}}]},s:s}]}", "choices",
                           "message", "role", "assistant", "content", "tool_calls", "id", "call_x",
                           "type", "function", "function", "name", "read_file", "arguments",
                           arguments.c_str(), "finish_reason", "tool_calls"));
    return dump_json(body.get());
}

TEST(OpenAiWire, KeepsACallWhoseArgumentsAreNotJsonWithTheReason) {
    const ChatReply reply =
        make_openai_wire()->parse(openai_call_with_arguments(R"({"path": "README.md")"));
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    const ToolCall &call = reply.tool_calls[0];
    EXPECT_EQ(call.id, "call_x");
    EXPECT_EQ(call.name, "read_file");
    EXPECT_EQ(call.arguments, nullptr);
    EXPECT_TRUE(contains(call.argument_error, "not a JSON object")) << call.argument_error;
}

TEST(OpenAiWire, KeepsACallWhoseArgumentsAreAJsonArrayWithTheReason) {
    const ChatReply reply =
        make_openai_wire()->parse(openai_call_with_arguments(R"(["README.md"])"));
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    const ToolCall &call = reply.tool_calls[0];
    EXPECT_EQ(call.arguments, nullptr);
    EXPECT_TRUE(contains(call.argument_error, "not a JSON object")) << call.argument_error;
    EXPECT_TRUE(contains(call.argument_error, "array")) << call.argument_error;
}

TEST(OpenAiWire, ReadsEmptyArgumentsAsAnEmptyObject) {
    const ChatReply reply = make_openai_wire()->parse(openai_call_with_arguments(""));
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    EXPECT_EQ(reply.tool_calls[0].argument_error, "");
    ASSERT_TRUE(json_is_object(reply.tool_calls[0].arguments.get()));
    EXPECT_EQ(json_object_size(reply.tool_calls[0].arguments.get()), 0u);
}

TEST(OpenAiWire, AcceptsArgumentsSentAsAnObjectByCompatibleServers) {
    const ChatReply reply = make_openai_wire()->parse(
        R"({"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[)"
        R"({"id":"call_0","type":"function","function":{"name":"read_file",)"
        R"("arguments":{"path":"README.md"}}}]},"finish_reason":"tool_calls"}]})");
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    EXPECT_EQ(reply.tool_calls[0].argument_error, "");
    EXPECT_EQ(text_of(reply.tool_calls[0].arguments.get(), "path"), "README.md");
}

TEST(OpenAiWire, NumbersToolCallsThatComeWithoutAnId) {
    const ChatReply reply = make_openai_wire()->parse(
        R"({"choices":[{"message":{"role":"assistant","tool_calls":[)"
        R"({"type":"function","function":{"name":"read_file","arguments":"{}"}},)"
        R"({"type":"function","function":{"name":"list_files","arguments":"{}"}}]}}]})");
    ASSERT_EQ(reply.tool_calls.size(), 2u);
    EXPECT_EQ(reply.tool_calls[0].id, "call_1");
    EXPECT_EQ(reply.tool_calls[1].id, "call_2");
}

TEST(OpenAiWire, RefusesAToolCallWithoutAName) {
    const auto wire = make_openai_wire();
    EXPECT_THROW(wire->parse(R"({"choices":[{"message":{"role":"assistant","tool_calls":[)"
                             R"({"id":"call_1","type":"function","function":{"arguments":"{}"}})"
                             R"(]}}]})"),
                 WireError);
    EXPECT_THROW(wire->parse(R"({"choices":[{"message":{"role":"assistant","tool_calls":[)"
                             R"({"id":"call_1","type":"function"}]}}]})"),
                 WireError);
}

TEST(OpenAiWire, ReadsTheProviderMessageFromAnErrorBody) {
    const auto wire = make_openai_wire();
    const std::string message = wire->error_message(recorded("openai_error.json"));
    EXPECT_TRUE(message.rfind("Incorrect API key provided: sk-test", 0) == 0) << message;
    EXPECT_EQ(wire->error_message(R"({"error":"plain"})"), "plain");
}

TEST(OpenAiWire, FindsNoProviderMessageInGarbage) {
    const auto wire = make_openai_wire();
    EXPECT_EQ(wire->error_message("<html>502 Bad Gateway</html>"), "");
    EXPECT_EQ(wire->error_message(""), "");
    EXPECT_EQ(wire->error_message(R"({"error":{"code":"x"}})"), "");
    EXPECT_EQ(wire->error_message(R"({"error":42})"), "");
    EXPECT_EQ(wire->error_message(R"(["error"])"), "");
}

// ---- Anthropic: building requests ----

TEST(AnthropicWire, PostsToMessagesUnderTheEndpoint) {
    const Chat chat("claude-3-5-sonnet-latest");
    const HttpCall call = make_anthropic_wire()->build(chat.request, endpoint, api_key);
    EXPECT_EQ(call.url, "https://llm.example.test/v1/messages");
    EXPECT_TRUE(has_header(call, "Content-Type: application/json"));
}

TEST(AnthropicWire, SendsTheKeyAsXApiKeyOnlyWhenThereIsOneAndAlwaysTheApiVersion) {
    const Chat chat("claude-3-5-sonnet-latest");
    const auto wire = make_anthropic_wire();
    const HttpCall with_key = wire->build(chat.request, endpoint, api_key);
    EXPECT_TRUE(has_header(with_key, "x-api-key: " + api_key));
    EXPECT_TRUE(has_header(with_key, "anthropic-version: 2023-06-01"));
    EXPECT_FALSE(has_header_named(with_key, "Authorization"));
    EXPECT_FALSE(contains(with_key.body, api_key));

    const HttpCall without_key = wire->build(chat.request, endpoint, "");
    EXPECT_FALSE(has_header_named(without_key, "x-api-key"));
    EXPECT_TRUE(has_header(without_key, "anthropic-version: 2023-06-01"));
}

TEST(AnthropicWire, PutsTheSystemPromptAtTheTopLevel) {
    const Chat chat("claude-3-5-sonnet-latest");
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    EXPECT_EQ(text_of(body.get(), "system"), "You are Task Runner.");
    std::size_t index;
    json_t *message;
    json_array_foreach(json_object_get(body.get(), "messages"), index, message) {
        EXPECT_NE(text_of(message, "role"), "system") << "message " << index;
    }
    EXPECT_EQ(text_of(item(body.get(), "messages", 0), "role"), "user");
    EXPECT_EQ(text_of(item(body.get(), "messages", 0), "content"),
              "Summarise README.md and list src.");
}

TEST(AnthropicWire, SendsTheModelMaxTokensAndTemperature) {
    const Chat chat("claude-3-5-sonnet-latest");
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    EXPECT_EQ(text_of(body.get(), "model"), "claude-3-5-sonnet-latest");
    ASSERT_TRUE(json_is_integer(json_object_get(body.get(), "max_tokens")))
        << "the Messages API requires max_tokens";
    EXPECT_EQ(json_integer_value(json_object_get(body.get(), "max_tokens")), 1024);
    EXPECT_DOUBLE_EQ(json_number_value(json_object_get(body.get(), "temperature")), 0.25);
}

TEST(AnthropicWire, SendsAnAssistantTurnAsTextAndToolUseBlocksWithInputObjects) {
    const Chat chat("claude-3-5-sonnet-latest");
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    const json_t *assistant = item(body.get(), "messages", 1);
    EXPECT_EQ(text_of(assistant, "role"), "assistant");
    const json_t *content = json_object_get(assistant, "content");
    ASSERT_EQ(json_array_size(content), 3u);

    const json_t *text = json_array_get(content, 0);
    EXPECT_EQ(text_of(text, "type"), "text");
    EXPECT_EQ(text_of(text, "text"), "I'll look at both.");

    const json_t *first = json_array_get(content, 1);
    EXPECT_EQ(text_of(first, "type"), "tool_use");
    EXPECT_EQ(text_of(first, "id"), "call_1");
    EXPECT_EQ(text_of(first, "name"), "read_file");
    const json_t *input = json_object_get(first, "input");
    ASSERT_TRUE(json_is_object(input)) << "input must be an object, not a string";
    EXPECT_EQ(text_of(input, "path"), "README.md");

    const json_t *second = json_array_get(content, 2);
    EXPECT_EQ(text_of(second, "id"), "call_2");
    EXPECT_EQ(text_of(second, "name"), "list_files");
    EXPECT_EQ(text_of(json_object_get(second, "input"), "path"), "src");
}

TEST(AnthropicWire, SendsAnAssistantTurnWithoutTextAsToolUseBlocksOnly) {
    Chat chat("claude-3-5-sonnet-latest");
    chat.messages[1].content.clear();
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    const json_t *content = json_object_get(item(body.get(), "messages", 1), "content");
    ASSERT_EQ(json_array_size(content), 2u);
    EXPECT_EQ(text_of(json_array_get(content, 0), "type"), "tool_use");
    EXPECT_EQ(text_of(json_array_get(content, 1), "type"), "tool_use");
}

TEST(AnthropicWire, MergesConsecutiveToolResultsIntoOneUserMessage) {
    const Chat chat("claude-3-5-sonnet-latest");
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    const json_t *messages = json_object_get(body.get(), "messages");
    ASSERT_EQ(json_array_size(messages), 3u); // user, assistant, one user message of results

    const json_t *results = json_array_get(messages, 2);
    EXPECT_EQ(text_of(results, "role"), "user");
    const json_t *content = json_object_get(results, "content");
    ASSERT_EQ(json_array_size(content), 2u);

    const json_t *first = json_array_get(content, 0);
    EXPECT_EQ(text_of(first, "type"), "tool_result");
    EXPECT_EQ(text_of(first, "tool_use_id"), "call_1");
    EXPECT_EQ(text_of(first, "content"), "# Task Runner");
    EXPECT_TRUE(json_is_false(json_object_get(first, "is_error")));

    const json_t *second = json_array_get(content, 1);
    EXPECT_EQ(text_of(second, "type"), "tool_result");
    EXPECT_EQ(text_of(second, "tool_use_id"), "call_2");
    EXPECT_EQ(text_of(second, "content"), "src: No such file or directory");
    EXPECT_TRUE(json_is_true(json_object_get(second, "is_error")));
}

TEST(AnthropicWire, DescribesToolsWithAnInputSchema) {
    const Chat chat("claude-3-5-sonnet-latest");
    const JsonPtr body = parse_json(make_anthropic_wire()->build(chat.request, endpoint, "").body);
    const json_t *tools = json_object_get(body.get(), "tools");
    ASSERT_EQ(json_array_size(tools), 1u);
    const json_t *tool = json_array_get(tools, 0);
    EXPECT_EQ(text_of(tool, "name"), "read_file");
    EXPECT_EQ(text_of(tool, "description"), find_tool("read_file")->description);
    EXPECT_TRUE(json_equal(json_object_get(tool, "input_schema"), chat.tools[0].parameters.get()));
    EXPECT_EQ(json_object_get(tool, "type"), nullptr);
    EXPECT_EQ(json_object_get(tool, "parameters"), nullptr);
}

TEST(AnthropicWire, LetsTheModelChooseItsToolUnlessOneIsForced) {
    Chat chat("claude-3-5-sonnet-latest");
    const auto wire = make_anthropic_wire();
    const JsonPtr free_choice = parse_json(wire->build(chat.request, endpoint, "").body);
    const JsonPtr automatic = parse_json(R"({"type":"auto"})");
    EXPECT_TRUE(json_equal(json_object_get(free_choice.get(), "tool_choice"), automatic.get()))
        << dump_json(json_object_get(free_choice.get(), "tool_choice"));

    chat.request.forced_tool = "read_file";
    const JsonPtr forced = parse_json(wire->build(chat.request, endpoint, "").body);
    const JsonPtr expected = parse_json(R"({"type":"tool","name":"read_file"})");
    EXPECT_TRUE(json_equal(json_object_get(forced.get(), "tool_choice"), expected.get()))
        << dump_json(json_object_get(forced.get(), "tool_choice"));
}

// ---- Anthropic: reading answers ----

TEST(AnthropicWire, ReadsTextAndToolUseFromARecordedResponse) {
    const ChatReply reply = make_anthropic_wire()->parse(recorded("anthropic_tool_use.json"));
    EXPECT_EQ(reply.text, "I'll read it.");
    EXPECT_EQ(reply.stop_reason, "tool_use");
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    const ToolCall &call = reply.tool_calls[0];
    EXPECT_EQ(call.id, "toolu_01A09q90qw90lq917835lq9");
    EXPECT_EQ(call.name, "read_file");
    EXPECT_EQ(call.argument_error, "");
    const JsonPtr expected = parse_json(R"({"path":"README.md"})");
    EXPECT_TRUE(json_equal(call.arguments.get(), expected.get()));
    EXPECT_EQ(reply.usage.input, 1187);
    EXPECT_EQ(reply.usage.output, 71);
}

TEST(AnthropicWire, ReadsAPlainAnswerFromARecordedResponse) {
    const ChatReply reply = make_anthropic_wire()->parse(recorded("anthropic_text.json"));
    EXPECT_EQ(reply.text, "README.md describes Task Runner: a queue of tasks run by an agent loop "
                          "with file and command tools.");
    EXPECT_TRUE(reply.tool_calls.empty());
    EXPECT_EQ(reply.stop_reason, "end_turn");
    EXPECT_EQ(reply.usage.input, 1342);
    EXPECT_EQ(reply.usage.output, 29);
}

TEST(AnthropicWire, JoinsSeveralTextBlocksAndSkipsOtherBlocks) {
    const ChatReply reply = make_anthropic_wire()->parse(
        R"({"type":"message","role":"assistant","content":[)"
        R"({"type":"thinking","thinking":"hmm","signature":"abc"},)"
        R"({"type":"text","text":"First."},{"type":"text","text":"Second."}],)"
        R"("stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}})");
    EXPECT_EQ(reply.text, "First.\nSecond.");
    EXPECT_TRUE(reply.tool_calls.empty());
}

TEST(AnthropicWire, RefusesMalformedJson) {
    const auto wire = make_anthropic_wire();
    EXPECT_THROW(wire->parse(R"({"content": [{"type":"text",)"), WireError);
    EXPECT_THROW(wire->parse(""), WireError);
    EXPECT_THROW(wire->parse("upstream connect error"), WireError);
}

TEST(AnthropicWire, RefusesATruncatedResponse) {
    const std::string body = recorded("anthropic_tool_use.json");
    EXPECT_THROW(make_anthropic_wire()->parse(body.substr(0, body.size() / 2)), WireError);
}

TEST(AnthropicWire, RefusesAResponseWithoutAContentArray) {
    const auto wire = make_anthropic_wire();
    EXPECT_THROW(wire->parse(R"({"id":"msg_1","type":"message","role":"assistant"})"), WireError);
    EXPECT_THROW(wire->parse(R"({"id":"msg_1","type":"message","content":"hello"})"), WireError);
    EXPECT_THROW(wire->parse(recorded("anthropic_error.json")), WireError);
}

TEST(AnthropicWire, KeepsAToolUseWhoseInputIsNotAnObjectWithTheReason) {
    const ChatReply reply = make_anthropic_wire()->parse(
        R"({"type":"message","content":[{"type":"tool_use","id":"toolu_1","name":"read_file",)"
        R"("input":"{\"path\":\"README.md\"}"}],"stop_reason":"tool_use"})");
    ASSERT_EQ(reply.tool_calls.size(), 1u);
    const ToolCall &call = reply.tool_calls[0];
    EXPECT_EQ(call.id, "toolu_1");
    EXPECT_EQ(call.name, "read_file");
    EXPECT_EQ(call.arguments, nullptr);
    EXPECT_TRUE(contains(call.argument_error, "not a JSON object")) << call.argument_error;
    EXPECT_TRUE(contains(call.argument_error, "a string")) << call.argument_error;
}

TEST(AnthropicWire, RefusesAToolUseWithoutANameOrId) {
    const auto wire = make_anthropic_wire();
    EXPECT_THROW(wire->parse(R"({"content":[{"type":"tool_use","id":"toolu_1","input":{}}]})"),
                 WireError);
    EXPECT_THROW(wire->parse(R"({"content":[{"type":"tool_use","name":"read_file","input":{}}]})"),
                 WireError);
}

// Regression, found by tests/fuzz/anthropic_reply (corpus: usage_huge.json; and
// usage_out_of_range.json for both wires): token counts went into the task's budget as sent,
// so a negative one gave tokens back and a huge one could overflow the sum (undefined
// behaviour in the loop).
TEST(Wires, ReadTokenCountsOnlyAsWhatABudgetCanAddUp) {
    const struct {
        const char *input, *output; // as JSON
        long long read_input, read_output;
    } cases[] = {
        {"-5", "9223372036854775807", 0, max_reported_tokens},
        {"-9223372036854775807", "1000000001", 0, max_reported_tokens},
        {"1.5", "\"12\"", 0, 0},
        {"1000000000", "0", max_reported_tokens, 0},
    };
    for (const auto &c : cases) {
        const std::string in = c.input, out = c.output;
        const ChatReply openai = make_openai_wire()->parse(
            R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":)" + in +
            R"(,"completion_tokens":)" + out + "}}");
        EXPECT_EQ(openai.usage.input, c.read_input) << in;
        EXPECT_EQ(openai.usage.output, c.read_output) << out;
        const ChatReply anthropic = make_anthropic_wire()->parse(
            R"({"content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":)" + in +
            R"(,"output_tokens":)" + out + "}}");
        EXPECT_EQ(anthropic.usage.input, c.read_input) << in;
        EXPECT_EQ(anthropic.usage.output, c.read_output) << out;
    }
}

TEST(AnthropicWire, ReadsTheProviderMessageFromAnErrorBody) {
    EXPECT_EQ(make_anthropic_wire()->error_message(recorded("anthropic_error.json")),
              "invalid x-api-key");
}

TEST(AnthropicWire, FindsNoProviderMessageInGarbage) {
    const auto wire = make_anthropic_wire();
    EXPECT_EQ(wire->error_message("<html>529 Overloaded</html>"), "");
    EXPECT_EQ(wire->error_message(""), "");
    EXPECT_EQ(wire->error_message(R"({"type":"error"})"), "");
}

} // namespace
} // namespace tr::runner
