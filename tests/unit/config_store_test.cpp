// core/config_store: the one store of settings changed through the API. A change is validated
// whole (types, ranges, the model it leaves), stored in one transaction with one audit row that
// never holds a key; the live settings (the model's) apply to the next task, the others at the
// next start; secrets are served only as "set".
#include "core/config_store.h"

#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "core/model.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

const std::string secret_key = "sk-test-9f8e7d6c5b4a39281706";
const TimePoint t0 = TimePoint(std::chrono::seconds(1800000000)); // 2027-01-15T08:00:00Z

// A valid configuration (auto provider, no key) and a migrated database of its own.
class ConfigStore : public ::testing::Test {
protected:
    ConfigStore() : config_(test::load_minimal_config(dir_)), path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    ConfigUpdate put(const std::string &partial, const std::string &key_id = "key-1") {
        const JsonPtr parsed = parse_json(partial);
        return update_config(db(), config_, parsed.get(), key_id, t0);
    }

    // PUT /api/v1/config/model's body, as its handler spells it.
    ConfigUpdate put_model(const std::string &body, const std::string &key_id = "key-1") {
        return put("{\"model\": " + body + "}", key_id);
    }

    // The message the change is refused with, or a test failure when it is accepted.
    std::string refusal(const std::string &partial) {
        try {
            put(partial);
            ADD_FAILURE() << "accepted " << partial;
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return e.what();
        }
        return "";
    }

    std::string model_refusal(const std::string &body) {
        return refusal("{\"model\": " + body + "}");
    }

    ModelConfig next_task_model() { return live_config(config_, db()).model; }

    int count(const char *table) {
        return db().handle().execAndGet(std::string("SELECT count(*) FROM ") + table).getInt();
    }

    // Every config_changes row, all columns as text.
    std::vector<std::string> config_changes() {
        SQLite::Statement select(db().handle(),
                                 "SELECT id || '|' || at || '|' || coalesce(key_id, 'NULL') || "
                                 "'|' || section || '|' || change FROM config_changes ORDER BY id");
        std::vector<std::string> rows;
        while (select.executeStep())
            rows.push_back(select.getColumn(0).getString());
        return rows;
    }

    TempDir dir_;
    Config config_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(ConfigStore, ModelSettingsApplyLiveAndTheRestAtTheNextStart) {
    const ConfigUpdate update = put(
        R"({"execution": {"max_steps": 7}, "model": {"temperature": 0.3, "max_tokens": 2048}})");
    EXPECT_EQ(update.applied_live,
              (std::vector<std::string>{"model.temperature", "model.max_tokens"}));
    EXPECT_EQ(update.needs_restart, std::vector<std::string>{"execution.max_steps"});
    // The next task: the live ones, at once.
    const ModelConfig model = next_task_model();
    EXPECT_DOUBLE_EQ(model.temperature, 0.3);
    EXPECT_EQ(model.max_tokens, 2048);
    EXPECT_EQ(live_config(config_, db()).execution.max_steps, config_.execution.max_steps);
    // A start: the others; the live ones stay out of the started configuration, so the
    // configured model (and where its key goes) is the file's and the environment's.
    Config restarted = config_;
    apply_config_overrides(restarted, db());
    EXPECT_EQ(restarted.execution.max_steps, 7);
    EXPECT_DOUBLE_EQ(restarted.model.temperature, config_.model.temperature);
    EXPECT_EQ(restarted.source_of("execution.max_steps"), "stored setting (PUT /api/v1/config)");
    EXPECT_EQ(live_config(restarted, db()).source_of("model.temperature"),
              "stored setting (PUT /api/v1/config)");
}

TEST_F(ConfigStore, OnePutIsOneTransactionWithOneAuditRow) {
    put(R"({"execution": {"max_retries": 2}, "model": {"provider": "local", "api_key": ")" +
        secret_key + R"("}})");
    EXPECT_EQ(count("config_overrides"), 3);
    const std::vector<std::string> rows = config_changes();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(
        rows[0],
        std::string("1|2027-01-15T08:00:00.000Z|key-1|config|") +
            R"json({"execution":{"max_retries":2},"model":{"provider":"local","api_key":"(set)"}})json");
    // A refused change stores nothing at all, its valid parts neither.
    refusal(R"({"execution": {"max_retries": 3}, "model": {"temperature": 9}})");
    EXPECT_EQ(count("config_overrides"), 3);
    EXPECT_EQ(config_changes().size(), 1u);
}

TEST_F(ConfigStore, AModelChangeIsAuditedAsTheModelEndpointAlwaysWasWithTheKeyOnlyAsSet) {
    put_model(R"({"provider":"openai","api_key":")" + secret_key + R"("})", "key-7");
    put_model(R"({"api_key":null,"provider":null})", "");
    const std::vector<std::string> rows = config_changes();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], std::string("1|2027-01-15T08:00:00.000Z|key-7|model|") +
                           R"json({"provider":"openai","api_key":"(set)"})json");
    EXPECT_EQ(rows[1], std::string("2|2027-01-15T08:00:00.000Z|NULL|model|") +
                           R"json({"api_key":"(cleared)","provider":null})json");
    for (const std::string &row : rows)
        EXPECT_FALSE(contains(row, secret_key)) << row;
}

TEST_F(ConfigStore, TheKeyIsStoredOnceAndServedOnlyAsSet) {
    put_model(R"({"provider":"openai","api_key":")" + secret_key + R"("})");
    EXPECT_EQ(next_task_model().api_key, secret_key);
    const JsonPtr stored = stored_config_overrides(db());
    EXPECT_EQ(json_string_member(stored.get(), "model.api_key"), "set");
    EXPECT_EQ(json_string_member(stored.get(), "model.provider"), "openai");
    EXPECT_FALSE(contains(dump_json(stored.get()), secret_key));
    EXPECT_EQ(db().handle()
                  .execAndGet("SELECT count(*) FROM config_overrides WHERE value LIKE '%" +
                              secret_key + "%' AND path <> 'model.api_key'")
                  .getInt(),
              0);
}

TEST_F(ConfigStore, NullRevertsASettingToItsConfiguredValue) {
    put_model(R"({"provider":"local","model_name":"qwen2.5","max_tokens":100,"temperature":0.3})");
    put_model(R"({"model_name":null,"temperature":null})");
    const ModelConfig model = next_task_model();
    EXPECT_EQ(model.provider, "local");
    EXPECT_EQ(model.model_name, config_.model.model_name);
    EXPECT_EQ(model.max_tokens, 100);
    EXPECT_DOUBLE_EQ(model.temperature, config_.model.temperature);
    EXPECT_EQ(count("config_overrides"), 2);
}

TEST_F(ConfigStore, AnIntegerTemperatureIsANumber) {
    put_model(R"({"temperature":1})");
    EXPECT_DOUBLE_EQ(next_task_model().temperature, 1.0);
}

TEST_F(ConfigStore, RefusesAnUnknownModelSettingNamingTheKnownOnes) {
    for (const char *body : {R"({"modelname":"gpt-4o"})", R"({"provider":"local","extra":1})"}) {
        const std::string message = model_refusal(body);
        EXPECT_TRUE(contains(message, "unknown setting model.")) << message;
        EXPECT_TRUE(contains(message, "provider, model_name, api_key, endpoint, max_tokens, "
                                      "temperature"))
            << message;
    }
    EXPECT_TRUE(contains(model_refusal(R"({"modelname":"gpt-4o"})"), "model.modelname"));
}

TEST_F(ConfigStore, RefusesAValueOfTheWrongTypeOrRangeNamingTheSetting) {
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
        {R"({"max_tokens":0})", "model.max_tokens"},
        {R"({"max_tokens":-5})", "model.max_tokens"},
        {R"({"max_tokens":1000001})", "model.max_tokens"},
        {R"({"max_tokens":99999999999})", "model.max_tokens"},
        {R"({"temperature":-0.1})", "model.temperature"},
        {R"({"temperature":2.5})", "model.temperature"},
        {R"({"provider":"gpt-4"})", "model.provider"},
        {R"({"provider":"local","endpoint":"http://admin:pw@10.0.0.5/v1"})", "model.endpoint"},
    };
    for (const auto &c : cases) {
        const std::string message = model_refusal(c.body);
        EXPECT_TRUE(contains(message, c.setting)) << c.body << ": " << message;
    }
}

TEST_F(ConfigStore, ListsEveryProblemAtOnce) {
    const std::string message =
        refusal(R"({"model": {"max_tokens":0,"temperature":9}, "execution": {"max_steps": 0}})");
    EXPECT_TRUE(contains(message, "model.max_tokens")) << message;
    EXPECT_TRUE(contains(message, "model.temperature")) << message;
    EXPECT_TRUE(contains(message, "execution.max_steps")) << message;
}

TEST_F(ConfigStore, RefusesAChangeThatNamesNoSettingOrIsNotAnObject) {
    EXPECT_TRUE(contains(refusal("{}"), "shaped like the config file"));
    EXPECT_TRUE(contains(model_refusal("{}"), "names no setting"));
    for (const char *body : {R"(["provider","openai"])", R"("openai")", "42"}) {
        const std::string message = model_refusal(body);
        EXPECT_TRUE(contains(message, "model must be an object")) << message;
    }
}

TEST_F(ConfigStore, RefusesWhatTheApiMayNotChange) {
    EXPECT_TRUE(contains(model_refusal(R"({"allowed_endpoint_hosts":["x"]})"),
                         "only in the configuration file"));
    EXPECT_TRUE(contains(refusal(R"({"storage": {"database": "/tmp/x.db"}})"),
                         "storage.database cannot be changed through the API"));
    // An admin key must not open the runner's callbacks to the internal network.
    EXPECT_TRUE(contains(refusal(R"({"webhooks": {"allowed_hosts": ["169.254.169.254"]}})"),
                         "webhooks.allowed_hosts can be changed only in the configuration file"));
}

TEST_F(ConfigStore, RefusesAModelThatCouldNotRun) {
    EXPECT_TRUE(contains(model_refusal(R"({"provider":"openai"})"), "TASK_RUNNER_API_KEY"));
    EXPECT_TRUE(
        contains(model_refusal(R"({"provider":"openai","endpoint":"https://api.openai.com/v1"})"),
                 "TASK_RUNNER_API_KEY"));
    // Clearing the key a provider needs, too.
    put_model(R"({"provider":"openai","api_key":")" + secret_key + R"("})");
    EXPECT_TRUE(contains(model_refusal(R"({"api_key":null})"), "TASK_RUNNER_API_KEY"));
    // A custom endpoint may need no key.
    put_model(R"({"endpoint":"http://127.0.0.1:8080/v1","api_key":null})");
    EXPECT_EQ(next_task_model().endpoint, "http://127.0.0.1:8080/v1");
}

TEST_F(ConfigStore, RefusesAnEndpointOffTheAllowList) {
    config_.model.allowed_endpoint_hosts = {"10.0.0.5"};
    const std::string message =
        model_refusal(R"({"provider":"local","endpoint":"http://10.0.0.6:8000/v1"})");
    EXPECT_TRUE(contains(message, "model.allowed_endpoint_hosts (10.0.0.5)")) << message;
    put_model(R"({"provider":"local","endpoint":"http://10.0.0.5:8000/v1"})");
    EXPECT_EQ(next_task_model().endpoint, "http://10.0.0.5:8000/v1");
}

// Regression: PUT /api/v1/config/model wrote model_settings in a transaction of its own after
// the one of config_overrides, so a PUT could half succeed and be audited twice.
TEST_F(ConfigStore, ThereIsNoSecondStore) {
    EXPECT_FALSE(db().handle().tableExists("model_settings"));
}

} // namespace
} // namespace tr
