// core/model: the provider presets and what they refuse, endpoint hosts, the live settings
// stored through the API on top of the configured model (the key going only where it was
// configured for) and the model as shown to clients. Storing them: config_store_test.cpp.
#include "core/model.h"

#include "core/error.h"
#include "core/strings.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

const std::string secret_key = "sk-test-9f8e7d6c5b4a39281706";

ModelConfig model_config(const std::string &provider, const std::string &api_key = "",
                         const std::string &endpoint = "") {
    ModelConfig model;
    model.provider = provider;
    model.api_key = api_key;
    model.endpoint = endpoint;
    return model;
}

// The message resolve_model refuses `model` with, or a test failure when it accepts it.
std::string resolve_error(const ModelConfig &model) {
    try {
        const ResolvedModel resolved = resolve_model(model);
        ADD_FAILURE() << "accepted provider " << model.provider << " at \"" << model.endpoint
                      << "\" as " << resolved.endpoint;
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        return e.what();
    }
    return "";
}

// ---- resolve_model ----

TEST(ResolveModel, GivesOpenAiItsEndpointAndDefaultModel) {
    ModelConfig model = model_config("openai", secret_key);
    model.max_tokens = 1500;
    model.temperature = 0.4;
    model.timeout_seconds = 45;
    const ResolvedModel resolved = resolve_model(model);
    EXPECT_EQ(resolved.provider, "openai");
    EXPECT_EQ(resolved.wire, WireFormat::OpenAi);
    EXPECT_EQ(resolved.endpoint, "https://api.openai.com/v1");
    EXPECT_EQ(resolved.model, "gpt-4o-mini");
    EXPECT_EQ(resolved.api_key, secret_key);
    EXPECT_EQ(resolved.max_tokens, 1500);
    EXPECT_DOUBLE_EQ(resolved.temperature, 0.4);
    EXPECT_EQ(resolved.timeout_seconds, 45);
}

TEST(ResolveModel, GivesAnthropicItsOwnWireAndEndpoint) {
    const ResolvedModel resolved = resolve_model(model_config("anthropic", secret_key));
    EXPECT_EQ(resolved.wire, WireFormat::Anthropic);
    EXPECT_EQ(resolved.endpoint, "https://api.anthropic.com/v1");
    EXPECT_EQ(resolved.model, "claude-3-5-sonnet-latest");
}

TEST(ResolveModel, SpeaksTheOpenAiWireToZhipu) {
    const ResolvedModel resolved = resolve_model(model_config("zhipu", secret_key));
    EXPECT_EQ(resolved.wire, WireFormat::OpenAi);
    EXPECT_EQ(resolved.endpoint, "https://open.bigmodel.cn/api/paas/v4");
    EXPECT_EQ(resolved.model, "glm-4");
}

TEST(ResolveModel, RunsALocalModelWithoutAKey) {
    const ResolvedModel resolved = resolve_model(model_config("local"));
    EXPECT_EQ(resolved.wire, WireFormat::OpenAi);
    EXPECT_EQ(resolved.endpoint, "http://127.0.0.1:11434/v1");
    EXPECT_EQ(resolved.model, "llama3.1");
    EXPECT_EQ(resolved.api_key, "");
}

TEST(ResolveModel, AutoIsTheBuiltinPlannerWithoutAKeyAndOpenAiWithOne) {
    const ResolvedModel offline = resolve_model(model_config("auto"));
    EXPECT_EQ(offline.provider, "builtin");
    EXPECT_EQ(offline.wire, WireFormat::Builtin);
    EXPECT_EQ(offline.model, "builtin-planner");
    EXPECT_EQ(offline.endpoint, "");

    const ResolvedModel online = resolve_model(model_config("auto", secret_key));
    EXPECT_EQ(online.provider, "openai");
    EXPECT_EQ(online.wire, WireFormat::OpenAi);
    EXPECT_EQ(online.endpoint, "https://api.openai.com/v1");
    EXPECT_EQ(online.model, "gpt-4o-mini");
}

TEST(ResolveModel, BuiltinNeedsNeitherEndpointNorKey) {
    const ResolvedModel resolved = resolve_model(model_config("builtin"));
    EXPECT_EQ(resolved.wire, WireFormat::Builtin);
    EXPECT_EQ(resolved.model, "builtin-planner");
    EXPECT_EQ(resolved.endpoint, "");
}

TEST(ResolveModel, TakesTheConfiguredModelNameAndEndpointOverThePreset) {
    ModelConfig model = model_config("openai", secret_key, "https://llm.example.test/v1");
    model.model_name = "deepseek-chat";
    const ResolvedModel resolved = resolve_model(model);
    EXPECT_EQ(resolved.endpoint, "https://llm.example.test/v1");
    EXPECT_EQ(resolved.model, "deepseek-chat");
    EXPECT_EQ(resolved.wire, WireFormat::OpenAi);
}

TEST(ResolveModel, StripsTrailingSlashesFromTheEndpoint) {
    EXPECT_EQ(resolve_model(model_config("local", "", "http://10.0.0.5:8000/v1/")).endpoint,
              "http://10.0.0.5:8000/v1");
    EXPECT_EQ(
        resolve_model(model_config("anthropic", secret_key, "https://proxy.test///")).endpoint,
        "https://proxy.test");
}

TEST(ResolveModel, RefusesAProviderThatNeedsAKeyWithoutOneAtItsDefaultEndpoint) {
    for (const char *provider : {"openai", "anthropic", "zhipu"}) {
        const std::string message = resolve_error(model_config(provider));
        EXPECT_TRUE(contains(message, "TASK_RUNNER_API_KEY")) << message;
        EXPECT_TRUE(contains(message, provider)) << message;
    }
}

// Regression: only an empty endpoint counted as the default one, so a keyless provider
// configured (or PUT) with its vendor's URL spelled out was accepted, and every task then
// failed with the vendor's 401.
TEST(ResolveModel, RefusesAProviderThatNeedsAKeyWithoutOneAtItsVendorsUrlSpelledOut) {
    const struct {
        const char *provider;
        const char *endpoint;
    } cases[] = {
        {"openai", "https://api.openai.com/v1"},
        {"openai", "https://api.openai.com/v1/"},
        {"openai", "https://API.OpenAI.com/v1"},
        {"anthropic", "https://api.anthropic.com/v1"},
        {"zhipu", "https://open.bigmodel.cn/api/paas/v4/"},
    };
    for (const auto &c : cases) {
        const std::string message = resolve_error(model_config(c.provider, "", c.endpoint));
        EXPECT_TRUE(contains(message, "TASK_RUNNER_API_KEY")) << c.endpoint << ": " << message;
    }
    EXPECT_EQ(
        resolve_model(model_config("openai", secret_key, "https://api.openai.com/v1/")).endpoint,
        "https://api.openai.com/v1");
}

TEST(ResolveModel, AcceptsOpenAiWithoutAKeyAtACustomEndpoint) {
    const ResolvedModel resolved =
        resolve_model(model_config("openai", "", "http://127.0.0.1:8080/v1"));
    EXPECT_EQ(resolved.endpoint, "http://127.0.0.1:8080/v1");
    EXPECT_EQ(resolved.api_key, "");
}

TEST(ResolveModel, RefusesAnUnknownProviderListingTheKnownOnes) {
    const std::string message = resolve_error(model_config("gpt", secret_key));
    EXPECT_TRUE(contains(message, "model.provider")) << message;
    EXPECT_TRUE(contains(message, "\"gpt\"")) << message;
    EXPECT_TRUE(contains(message, "openai, anthropic, zhipu, local")) << message;
}

TEST(ResolveModel, RefusesAnEndpointThatIsNotHttp) {
    for (const char *endpoint :
         {"ftp://llm.example.test/v1", "file:///etc/passwd", "llm.example.test/v1",
          "//llm.example.test", "unix:/run/llm.sock"}) {
        const std::string message = resolve_error(model_config("openai", secret_key, endpoint));
        EXPECT_TRUE(contains(message, "model.endpoint")) << message;
        EXPECT_TRUE(contains(message, endpoint)) << message;
    }
}

TEST(ResolveModel, RefusesAnEndpointWithCredentials) {
    for (const char *endpoint :
         {"https://user:pw@llm.example.test/v1", "https://token@llm.example.test/v1"}) {
        const std::string message = resolve_error(model_config("openai", secret_key, endpoint));
        EXPECT_TRUE(contains(message, "without credentials")) << message;
    }
}

TEST(ResolveModel, RefusesAnEndpointWithWhitespace) {
    for (const char *endpoint : {"https://llm.example.test /v1", "https://llm.example.test/v1\n",
                                 "https://llm\t.test", " https://llm.example.test/v1"})
        resolve_error(model_config("openai", secret_key, endpoint));
}

TEST(ResolveModel, RefusesAnEndpointWithoutAHost) {
    for (const char *endpoint : {"https://", "http:///v1", "http://:8080/v1", "https://[]:443/"})
        resolve_error(model_config("openai", secret_key, endpoint));
}

// ---- url_host ----

TEST(UrlHost, NamesTheHostOfAnHttpUrl) {
    EXPECT_EQ(url_host("https://api.openai.com/v1"), "api.openai.com");
    EXPECT_EQ(url_host("http://127.0.0.1:11434/v1"), "127.0.0.1");
    EXPECT_EQ(url_host("http://localhost"), "localhost");
    EXPECT_EQ(url_host("https://llm.example.test?x=1"), "llm.example.test");
    EXPECT_EQ(url_host("https://llm.example.test#part"), "llm.example.test");
}

TEST(UrlHost, UnbracketsAnIpv6Host) {
    EXPECT_EQ(url_host("http://[::1]:8080"), "::1");
    EXPECT_EQ(url_host("http://[::1]:8080/v1"), "::1");
    EXPECT_EQ(url_host("https://[2001:db8::7]/v1"), "2001:db8::7");
}

TEST(UrlHost, LowercasesTheHost) {
    EXPECT_EQ(url_host("https://API.OpenAI.COM/v1"), "api.openai.com");
}

TEST(UrlHost, FindsNoHostInWhatIsNotAPlainHttpUrl) {
    for (const char *url :
         {"", "ftp://host/", "host/v1", "https://", "http://:80", "http://[::1:8080/v1",
          "http://user@host/", "http://user:pw@host/", "http://host /", "http://ho\x01st/"})
        EXPECT_EQ(url_host(url), std::nullopt) << '"' << url << '"';
}

// ---- with_live_settings ----

// A valid configuration whose model is `model`, with the live settings `stored` (the model
// group's members, as JSON) applied over it.
class LiveSettings : public ::testing::Test {
protected:
    LiveSettings() : config_(test::load_minimal_config(dir_)) {}

    ModelConfig live(const ModelConfig &model, const std::string &stored) {
        config_.model = model;
        const JsonPtr tree = parse_json("{\"model\": " + stored + "}");
        return with_live_settings(config_, tree.get(), "stored setting (PUT /api/v1/config)").model;
    }

    TempDir dir_;
    Config config_;
};

TEST_F(LiveSettings, AppliesOnlyTheStoredSettingsAndNamesThemAsTheSource) {
    ModelConfig configured = model_config("local", "", "http://10.0.0.5:8000/v1");
    configured.model_name = "qwen2.5";
    configured.max_tokens = 4000;
    configured.temperature = 0.7;
    configured.timeout_seconds = 90;

    EXPECT_EQ(live(configured, "{}").model_name, "qwen2.5");

    const ModelConfig model = live(configured, R"({"provider":"openai","api_key":")" + secret_key +
                                                   R"(","temperature":0.1})");
    EXPECT_EQ(model.provider, "openai");
    EXPECT_EQ(model.api_key, secret_key);
    EXPECT_DOUBLE_EQ(model.temperature, 0.1);
    EXPECT_EQ(model.model_name, "qwen2.5");
    EXPECT_EQ(model.endpoint, "http://10.0.0.5:8000/v1");
    EXPECT_EQ(model.max_tokens, 4000);
    EXPECT_EQ(model.timeout_seconds, 90);

    const ModelConfig other =
        live(configured,
             R"({"model_name":"llama3.1","endpoint":"http://10.0.0.6:8000/v1","max_tokens":512})");
    EXPECT_EQ(other.provider, "local");
    EXPECT_EQ(other.model_name, "llama3.1");
    EXPECT_EQ(other.endpoint, "http://10.0.0.6:8000/v1");
    EXPECT_EQ(other.max_tokens, 512);
    EXPECT_DOUBLE_EQ(other.temperature, 0.7);

    config_.model = configured;
    const JsonPtr tree = parse_json(R"({"model":{"max_tokens":512}})");
    const Config with =
        with_live_settings(config_, tree.get(), "stored setting (PUT /api/v1/config)");
    EXPECT_EQ(with.source_of("model.max_tokens"), "stored setting (PUT /api/v1/config)");
    EXPECT_EQ(with.source_of("model.temperature"), config_.source_of("model.temperature"));
}

TEST_F(LiveSettings, AStoredSettingThatIsNoLongerValidIsRefusedNamingIt) {
    try {
        live(model_config("local"), R"({"max_tokens":0})");
        ADD_FAILURE() << "accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        EXPECT_TRUE(contains(e.what(), "model.max_tokens must be 1..1000000")) << e.what();
        EXPECT_TRUE(contains(e.what(), "PUT /api/v1/config")) << e.what();
    }
}

// The live settings are applied to every task: a directory of the configuration removed since it
// was loaded is the tools' problem, never one of the model that would fail every task.
TEST_F(LiveSettings, AreAppliedWithoutTheRelationsOfTheWholeConfiguration) {
    config_.tools.working_directory = dir_ / "removed-since";
    config_.tools.allowed_paths = {config_.tools.working_directory};
    EXPECT_EQ(live(model_config("local"), R"({"model_name":"qwen2.5"})").model_name, "qwen2.5");
    // The endpoint is still checked, by the provider presets (resolve_model, live_model_problems).
    EXPECT_THROW(resolve_model(live(model_config("local"), R"({"endpoint":"ftp://x/v1"})")), Error);
}

// Regression: with the API open, PUT /api/v1/config/model {"endpoint": "http://listener/v1"}
// made the next task send the configured key to that listener.
TEST_F(LiveSettings, TheConfiguredKeyGoesOnlyToItsOwnHost) {
    const ModelConfig configured = model_config("openai", secret_key, "");
    EXPECT_EQ(live(configured, R"({"endpoint":"http://127.0.0.1:19999/v1"})").api_key, "");
    // The same host spelled otherwise, or another model there, keeps it.
    EXPECT_EQ(live(configured, R"({"endpoint":"https://API.openai.com/v1/","model_name":"gpt-4o"})")
                  .api_key,
              secret_key);
    // Another provider's host, too, gets no key it was not given...
    EXPECT_EQ(live(configured, R"({"provider":"anthropic"})").api_key, "");
    // Another port or scheme of the same host is somewhere else too.
    for (const char *other : {"https://api.openai.com:8443/v1", "http://api.openai.com/v1"})
        EXPECT_EQ(live(configured, std::string(R"({"endpoint":")") + other + "\"}").api_key, "")
            << other;
    EXPECT_EQ(live(configured, R"({"endpoint":"https://api.openai.com:443/v1"})").api_key,
              secret_key);
    // ...and a key given with the endpoint goes with it.
    EXPECT_EQ(live(configured,
                   R"({"endpoint":"http://127.0.0.1:19999/v1","api_key":"sk-for-the-listener"})")
                  .api_key,
              "sk-for-the-listener");
}

// ---- live_model_problems ----

TEST_F(LiveSettings, ProblemsOfAModelThatCannotRunSayWhy) {
    const auto problems = [&](const ModelConfig &configured, const std::string &stored,
                              const std::optional<std::string> &endpoint = std::nullopt) {
        const ModelConfig effective = live(configured, stored);
        return join(live_model_problems(config_, effective, endpoint), "; ");
    };
    EXPECT_TRUE(contains(problems(model_config("auto"), R"({"provider":"openai"})"),
                         "TASK_RUNNER_API_KEY"));
    EXPECT_EQ(problems(model_config("auto"),
                       R"({"provider":"openai","endpoint":"http://127.0.0.1:8080/v1"})"),
              "");
    // Regression, found by tests/fuzz/config_json (corpus: key_withheld.json): with a key
    // configured for one endpoint, moving the endpoint to the vendor's own was accepted, but the
    // configured key goes only where it was configured for, so every task after it failed for
    // want of a key.
    const ModelConfig keyed = model_config("openai", secret_key, "https://llm.example.test/v1");
    const std::string withheld = problems(keyed, R"({"endpoint":"https://api.openai.com/v1"})");
    EXPECT_TRUE(contains(withheld, "needs model.api_key")) << withheld;
    EXPECT_TRUE(contains(withheld, "goes only to https://llm.example.test:443")) << withheld;
    EXPECT_FALSE(contains(withheld, secret_key)) << withheld;
    EXPECT_EQ(problems(keyed, R"({"endpoint":"https://api.openai.com/v1","api_key":"sk-o"})"), "");
    // An endpoint the change sets must be on the allow-list.
    ModelConfig listed = model_config("local");
    listed.allowed_endpoint_hosts = {"10.0.0.5"};
    EXPECT_EQ(problems(listed, R"({"endpoint":"http://10.0.0.5/v1"})", "http://10.0.0.5/v1"), "");
    const std::string refused =
        problems(listed, R"({"endpoint":"http://10.0.0.6/v1"})", "http://10.0.0.6/v1");
    EXPECT_TRUE(contains(refused, "model.endpoint host \"10.0.0.6\" is not in "
                                  "model.allowed_endpoint_hosts (10.0.0.5)"))
        << refused;
}

// ---- describe_model ----

TEST(DescribeModel, ShowsTheKeyOnlyAsSetOrUnset) {
    ModelConfig model = model_config("openai", secret_key);
    model.model_name = "gpt-4o";
    const JsonPtr with_key = describe_model(model);
    EXPECT_EQ(json_string_member(with_key.get(), "api_key"), "set");
    EXPECT_EQ(json_string_member(with_key.get(), "provider"), "openai");
    EXPECT_EQ(json_string_member(with_key.get(), "model_name"), "gpt-4o");
    EXPECT_EQ(json_integer_value(json_object_get(with_key.get(), "max_tokens")), 4000);
    EXPECT_FALSE(contains(dump_json(with_key.get()), secret_key));

    const JsonPtr without_key = describe_model(model_config("local"));
    EXPECT_EQ(json_string_member(without_key.get(), "api_key"), "unset");
}

} // namespace
} // namespace tr
