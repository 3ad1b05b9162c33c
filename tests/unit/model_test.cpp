// core/model: the provider presets and what they refuse, endpoint hosts, the API's overrides
// on top of the configured model (validated, merged, stored with an audit row that never holds
// the key) and the model as shown to clients.
#include "core/model.h"

#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <memory>
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

// ---- effective_model ----

TEST(EffectiveModel, AppliesOnlyTheOverridesThatArePresent) {
    ModelConfig configured = model_config("local", "", "http://10.0.0.5:8000/v1");
    configured.model_name = "qwen2.5";
    configured.max_tokens = 4000;
    configured.temperature = 0.7;
    configured.timeout_seconds = 90;

    EXPECT_EQ(effective_model(configured, {}).model_name, "qwen2.5");

    ModelOverrides overrides;
    overrides.provider = "openai";
    overrides.api_key = secret_key;
    overrides.temperature = 0.1;
    const ModelConfig model = effective_model(configured, overrides);
    EXPECT_EQ(model.provider, "openai");
    EXPECT_EQ(model.api_key, secret_key);
    EXPECT_DOUBLE_EQ(model.temperature, 0.1);
    EXPECT_EQ(model.model_name, "qwen2.5");
    EXPECT_EQ(model.endpoint, "http://10.0.0.5:8000/v1");
    EXPECT_EQ(model.max_tokens, 4000);
    EXPECT_EQ(model.timeout_seconds, 90);

    overrides = {};
    overrides.model_name = "llama3.1";
    overrides.endpoint = "http://10.0.0.6:8000/v1";
    overrides.max_tokens = 512;
    const ModelConfig other = effective_model(configured, overrides);
    EXPECT_EQ(other.provider, "local");
    EXPECT_EQ(other.model_name, "llama3.1");
    EXPECT_EQ(other.endpoint, "http://10.0.0.6:8000/v1");
    EXPECT_EQ(other.max_tokens, 512);
    EXPECT_DOUBLE_EQ(other.temperature, 0.7);
}

// Regression: with the API open, PUT /api/v1/config/model {"endpoint": "http://listener/v1"}
// made the next task send the configured key to that listener.
TEST(EffectiveModel, TheConfiguredKeyGoesOnlyToItsOwnHost) {
    const ModelConfig configured = model_config("openai", secret_key, "");
    ModelOverrides elsewhere;
    elsewhere.endpoint = "http://127.0.0.1:19999/v1";
    EXPECT_EQ(effective_model(configured, elsewhere).api_key, "");
    // The same host spelled otherwise, or another model there, keeps it.
    ModelOverrides same;
    same.endpoint = "https://API.openai.com/v1/";
    same.model_name = "gpt-4o";
    EXPECT_EQ(effective_model(configured, same).api_key, secret_key);
    // Another provider's host, too, gets no key it was not given...
    ModelOverrides anthropic;
    anthropic.provider = "anthropic";
    EXPECT_EQ(effective_model(configured, anthropic).api_key, "");
    // Another port or scheme of the same host is somewhere else too.
    for (const char *other : {"https://api.openai.com:8443/v1", "http://api.openai.com/v1"}) {
        ModelOverrides moved;
        moved.endpoint = other;
        EXPECT_EQ(effective_model(configured, moved).api_key, "") << other;
    }
    ModelOverrides explicit_port;
    explicit_port.endpoint = "https://api.openai.com:443/v1";
    EXPECT_EQ(effective_model(configured, explicit_port).api_key, secret_key);
    // ...and a key given with the endpoint goes with it.
    elsewhere.api_key = "sk-for-the-listener";
    EXPECT_EQ(effective_model(configured, elsewhere).api_key, "sk-for-the-listener");
}

// ---- merge_model_update ----

// A valid configuration (auto provider, no key) loaded from a temporary directory.
class MergeModelUpdate : public ::testing::Test {
protected:
    MergeModelUpdate() : config_(test::load_minimal_config(dir_)) {}

    ModelOverrides merge(const std::string &body, const ModelOverrides &current = {}) {
        const JsonPtr parsed = parse_json(body);
        return merge_model_update(config_, current, parsed.get());
    }

    // The message the update is refused with, or a test failure when it is accepted.
    std::string refusal(const std::string &body, const ModelOverrides &current = {}) {
        try {
            merge(body, current);
            ADD_FAILURE() << "accepted " << body;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return e.what();
        }
        return "";
    }

    TempDir dir_;
    Config config_;
};

TEST_F(MergeModelUpdate, MergesTheFieldsOfAValidPartialBody) {
    const ModelOverrides merged =
        merge(R"({"provider":"openai","model_name":"gpt-4o","api_key":")" + secret_key + "\"}");
    EXPECT_EQ(merged.provider, "openai");
    EXPECT_EQ(merged.model_name, "gpt-4o");
    EXPECT_EQ(merged.api_key, secret_key);
    EXPECT_EQ(merged.endpoint, std::nullopt);
    EXPECT_EQ(merged.max_tokens, std::nullopt);
    EXPECT_EQ(merged.temperature, std::nullopt);

    const ModelOverrides again = merge(R"({"temperature":0.2,"max_tokens":2048})", merged);
    EXPECT_EQ(again.provider, "openai");
    EXPECT_EQ(again.model_name, "gpt-4o");
    EXPECT_EQ(again.api_key, secret_key);
    EXPECT_EQ(again.max_tokens, 2048);
    ASSERT_TRUE(again.temperature);
    EXPECT_DOUBLE_EQ(*again.temperature, 0.2);
}

TEST_F(MergeModelUpdate, AcceptsAnIntegerTemperature) {
    const ModelOverrides merged = merge(R"({"temperature":1})");
    ASSERT_TRUE(merged.temperature);
    EXPECT_DOUBLE_EQ(*merged.temperature, 1.0);
}

TEST_F(MergeModelUpdate, ClearsAnOverrideGivenAsNull) {
    ModelOverrides current;
    current.provider = "local";
    current.model_name = "qwen2.5";
    current.max_tokens = 100;
    current.temperature = 0.3;
    const ModelOverrides merged = merge(R"({"model_name":null,"temperature":null})", current);
    EXPECT_EQ(merged.model_name, std::nullopt);
    EXPECT_EQ(merged.temperature, std::nullopt);
    EXPECT_EQ(merged.provider, "local");
    EXPECT_EQ(merged.max_tokens, 100);
}

TEST_F(MergeModelUpdate, RefusesAnUnknownFieldNamingTheAllowedOnes) {
    for (const char *body : {R"({"modelname":"gpt-4o"})", R"({"timeout_seconds":30})",
                             R"({"provider":"local","extra":1})"}) {
        const std::string message = refusal(body);
        EXPECT_TRUE(contains(message, "unknown field")) << message;
        EXPECT_TRUE(
            contains(message, "provider, model_name, api_key, endpoint, max_tokens, temperature"))
            << message;
    }
    EXPECT_TRUE(contains(refusal(R"({"modelname":"gpt-4o"})"), "\"modelname\""));
}

TEST_F(MergeModelUpdate, RefusesAValueOfTheWrongTypeNamingTheSetting) {
    const struct {
        const char *body;
        const char *setting;
    } cases[] = {
        {R"({"max_tokens":"100"})", "model.max_tokens"},
        {R"({"max_tokens":100.5})", "model.max_tokens"},
        {R"({"temperature":"warm"})", "model.temperature"},
        {R"({"temperature":true})", "model.temperature"},
        {R"({"provider":5})", "model.provider"},
        {R"({"model_name":["gpt-4o"]})", "model.model_name"},
        {R"({"api_key":{"value":"k"}})", "model.api_key"},
        {R"({"endpoint":false})", "model.endpoint"},
    };
    for (const auto &c : cases) {
        const std::string message = refusal(c.body);
        EXPECT_TRUE(contains(message, c.setting)) << c.body << ": " << message;
    }
}

TEST_F(MergeModelUpdate, RefusesOutOfRangeNumbersNamingTheSetting) {
    const struct {
        const char *body;
        const char *setting;
    } cases[] = {
        {R"({"max_tokens":0})", "model.max_tokens"},
        {R"({"max_tokens":-5})", "model.max_tokens"},
        {R"({"max_tokens":1000001})", "model.max_tokens"},
        {R"({"max_tokens":99999999999})", "model.max_tokens"},
        {R"({"temperature":-0.1})", "model.temperature"},
        {R"({"temperature":2.5})", "model.temperature"},
    };
    for (const auto &c : cases) {
        const std::string message = refusal(c.body);
        EXPECT_TRUE(contains(message, c.setting)) << c.body << ": " << message;
    }
}

TEST_F(MergeModelUpdate, ListsEveryProblemAtOnce) {
    const std::string message = refusal(R"({"max_tokens":0,"temperature":9})");
    EXPECT_TRUE(contains(message, "model.max_tokens")) << message;
    EXPECT_TRUE(contains(message, "model.temperature")) << message;
}

TEST_F(MergeModelUpdate, RefusesAProviderNotInTheList) {
    const std::string message = refusal(R"({"provider":"gpt-4"})");
    EXPECT_TRUE(contains(message, "model.provider")) << message;
    EXPECT_TRUE(contains(message, "gpt-4")) << message;
}

TEST_F(MergeModelUpdate, RefusesAnEmptyBodyNamingTheSettings) {
    const std::string message = refusal("{}");
    EXPECT_TRUE(contains(message, "provider, model_name, api_key, endpoint, max_tokens"))
        << message;
}

TEST_F(MergeModelUpdate, RefusesABodyThatIsNotAnObject) {
    std::vector<JsonPtr> bodies;
    bodies.push_back(parse_json(R"(["provider","openai"])"));
    bodies.emplace_back(json_string("openai"));
    bodies.emplace_back(json_null());
    bodies.emplace_back(json_integer(42));
    for (const JsonPtr &body : bodies) {
        try {
            merge_model_update(config_, {}, body.get());
            ADD_FAILURE() << "accepted " << dump_json(body.get());
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            EXPECT_TRUE(contains(e.what(), "must be a JSON object")) << e.what();
        }
    }
}

TEST_F(MergeModelUpdate, RefusesSwitchingToOpenAiWithoutAKeyAtItsDefaultEndpoint) {
    const std::string message = refusal(R"({"provider":"openai"})");
    EXPECT_TRUE(contains(message, "TASK_RUNNER_API_KEY")) << message;

    ModelOverrides current;
    current.provider = "openai";
    current.api_key = secret_key;
    const std::string cleared = refusal(R"({"api_key":null})", current);
    EXPECT_TRUE(contains(cleared, "TASK_RUNNER_API_KEY")) << cleared;
}

TEST_F(MergeModelUpdate, RefusesOpenAiWithoutAKeyAtItsOwnUrlSpelledOut) {
    const std::string message =
        refusal(R"({"provider":"openai","endpoint":"https://api.openai.com/v1"})");
    EXPECT_TRUE(contains(message, "TASK_RUNNER_API_KEY")) << message;
}

// Regression, found by tests/fuzz/config_json (corpus: key_withheld.json): with a key
// configured for one endpoint, moving the endpoint to the vendor's own was accepted, but the
// configured key goes only where it was configured for (effective_model), so every task after
// it failed for want of a key.
TEST_F(MergeModelUpdate, RefusesAnEndpointThatTheConfiguredKeyDoesNotGoTo) {
    config_.model.provider = "openai";
    config_.model.endpoint = "https://llm.example.test/v1";
    config_.model.api_key = secret_key;
    const std::string message = refusal(R"({"endpoint":"https://api.openai.com/v1"})");
    EXPECT_TRUE(contains(message, "needs model.api_key")) << message;
    EXPECT_TRUE(contains(message, "goes only to https://llm.example.test:443")) << message;
    EXPECT_FALSE(contains(message, secret_key)) << message;
    // With a key of its own it may go there; a server that needs no key needs none.
    const ModelOverrides keyed =
        merge(R"({"endpoint":"https://api.openai.com/v1","api_key":"sk-for-openai"})");
    EXPECT_EQ(resolve_model(effective_model(config_.model, keyed)).api_key, "sk-for-openai");
    const ModelOverrides local = merge(R"({"endpoint":"http://127.0.0.1:8080/v1"})");
    EXPECT_EQ(resolve_model(effective_model(config_.model, local)).api_key, "");
}

TEST_F(MergeModelUpdate, AcceptsOpenAiWithoutAKeyAtACustomEndpoint) {
    const ModelOverrides merged =
        merge(R"({"provider":"openai","endpoint":"http://127.0.0.1:8080/v1"})");
    EXPECT_EQ(merged.provider, "openai");
    EXPECT_EQ(merged.endpoint, "http://127.0.0.1:8080/v1");
}

TEST_F(MergeModelUpdate, RefusesAnEndpointWithCredentials) {
    const std::string message =
        refusal(R"({"provider":"local","endpoint":"http://admin:pw@10.0.0.5/v1"})");
    EXPECT_TRUE(contains(message, "model.endpoint")) << message;
}

// ---- store_model_overrides, load_model_overrides ----

const TimePoint t0 = TimePoint(std::chrono::seconds(1800000000)); // 2027-01-15T08:00:00Z

class ModelStore : public ::testing::Test {
protected:
    ModelStore() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    // Every config_changes row, all columns as text, one row per entry.
    std::vector<std::string> config_changes() {
        SQLite::Statement select(db().handle(),
                                 "SELECT id || '|' || at || '|' || coalesce(key_id, 'NULL') || "
                                 "'|' || section || '|' || change FROM config_changes ORDER BY id");
        std::vector<std::string> rows;
        while (select.executeStep())
            rows.push_back(select.getColumn(0).getString());
        return rows;
    }

    JsonPtr change(int id) {
        SQLite::Statement select(db().handle(), "SELECT change FROM config_changes WHERE id = ?");
        select.bind(1, id);
        if (!select.executeStep())
            return nullptr;
        return parse_json(select.getColumn(0).getString());
    }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(ModelStore, LoadsNoOverridesFromAFreshDatabase) {
    const ModelOverrides overrides = load_model_overrides(db());
    EXPECT_EQ(overrides.provider, std::nullopt);
    EXPECT_EQ(overrides.model_name, std::nullopt);
    EXPECT_EQ(overrides.api_key, std::nullopt);
    EXPECT_EQ(overrides.endpoint, std::nullopt);
    EXPECT_EQ(overrides.max_tokens, std::nullopt);
    EXPECT_EQ(overrides.temperature, std::nullopt);
}

TEST_F(ModelStore, LoadsBackWhatItStored) {
    ModelOverrides overrides;
    overrides.provider = "openai";
    overrides.model_name = "gpt-4o";
    overrides.api_key = secret_key;
    overrides.endpoint = "https://proxy.example.test/v1";
    overrides.max_tokens = 2048;
    overrides.temperature = 0.3;
    const JsonPtr body =
        parse_json(R"({"provider":"openai","model_name":"gpt-4o","api_key":")" + secret_key +
                   R"(","endpoint":"https://proxy.example.test/v1",)"
                   R"("max_tokens":2048,"temperature":0.3})");
    store_model_overrides(db(), overrides, body.get(), "key-1", t0);

    const ModelOverrides loaded = load_model_overrides(db());
    EXPECT_EQ(loaded.provider, "openai");
    EXPECT_EQ(loaded.model_name, "gpt-4o");
    EXPECT_EQ(loaded.api_key, secret_key);
    EXPECT_EQ(loaded.endpoint, "https://proxy.example.test/v1");
    EXPECT_EQ(loaded.max_tokens, 2048);
    ASSERT_TRUE(loaded.temperature);
    EXPECT_DOUBLE_EQ(*loaded.temperature, 0.3);
}

TEST_F(ModelStore, ReplacesTheStoredOverridesWhole) {
    ModelOverrides first;
    first.provider = "local";
    first.model_name = "qwen2.5";
    first.max_tokens = 100;
    const JsonPtr first_body = parse_json(R"({"provider":"local","model_name":"qwen2.5"})");
    store_model_overrides(db(), first, first_body.get(), "", t0);

    ModelOverrides second;
    second.provider = "local";
    const JsonPtr second_body = parse_json(R"({"model_name":null,"max_tokens":null})");
    store_model_overrides(db(), second, second_body.get(), "", t0 + std::chrono::seconds(1));

    const ModelOverrides loaded = load_model_overrides(db());
    EXPECT_EQ(loaded.provider, "local");
    EXPECT_EQ(loaded.model_name, std::nullopt);
    EXPECT_EQ(loaded.max_tokens, std::nullopt);
    EXPECT_EQ(config_changes().size(), 2u);
}

TEST_F(ModelStore, AuditsTheChangeWithTheKeyOnlyAsSet) {
    ModelOverrides overrides;
    overrides.provider = "openai";
    overrides.api_key = secret_key;
    const JsonPtr body = parse_json(R"({"provider":"openai","api_key":")" + secret_key + R"("})");
    store_model_overrides(db(), overrides, body.get(), "key-7", t0);

    const std::vector<std::string> rows = config_changes();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0], std::string("1|2027-01-15T08:00:00.000Z|key-7|model|") +
                           R"json({"provider":"openai","api_key":"(set)"})json");
    const JsonPtr recorded = change(1);
    EXPECT_EQ(json_string_member(recorded.get(), "api_key"), "(set)");
    for (const std::string &row : rows)
        EXPECT_FALSE(contains(row, secret_key)) << row;
}

TEST_F(ModelStore, AuditsAClearedKeyAsCleared) {
    const JsonPtr body = parse_json(R"({"api_key":null})");
    store_model_overrides(db(), {}, body.get(), "", t0);
    const JsonPtr recorded = change(1);
    EXPECT_EQ(json_string_member(recorded.get(), "api_key"), "(cleared)");
    const std::vector<std::string> rows = config_changes();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_TRUE(contains(rows[0], "|NULL|model|")) << rows[0]; // no key id given
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
