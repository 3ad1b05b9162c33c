// core/config: libconfig files resolved against their own directory, defaults, environment
// overrides with their sources, and validation that names the file, the line and the reason
// for every problem at once.
#include "core/config.h"

#include "core/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::environment_of;
using test::TempDir;

// The 1-based number of the first line of `text` containing `needle`.
int line_of(const std::string &text, const std::string &needle) {
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number)
        if (contains(line, needle))
            return number;
    ADD_FAILURE() << "no line contains " << needle;
    return 0;
}

// Loads `text` from a file in `dir` (with `work/` created) and returns the error message.
std::string load_error(const TempDir &dir, const std::string &text,
                       const EnvLookup &env = environment_of()) {
    dir.make_dir("work");
    try {
        test::write_and_load_config(dir, text, env);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        return e.what();
    }
    ADD_FAILURE() << "the configuration was accepted:\n" << text;
    return "";
}

std::string config_path(const TempDir &dir) {
    return dir / "task-runner.cfg";
}

std::vector<std::string> split_lines(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        lines.push_back(line);
    return lines;
}

TEST(LoadConfig, LoadsTheShippedConfigurationResolvingPathsAgainstItsDirectory) {
    TempDir dir;
    const std::string shipped = test::read_text(TR_SOURCE_DIR "/config/task-runner.cfg");
    const std::string path = dir.write("config/task-runner.cfg", shipped);
    dir.make_dir("work"); // the repository has it (work/.gitignore)
    const Config config = load_config(path, environment_of());
    EXPECT_EQ(config.file, path);
    EXPECT_EQ(config.directory, dir / "config");
    // ".." in config/task-runner.cfg is the directory above it, not the test's working directory.
    EXPECT_EQ(config.tools.working_directory, dir.path());
    EXPECT_EQ(config.tools.allowed_paths, std::vector<std::string>{dir.path()});
    // It reads the repository and writes only work/, in bubblewrap, without network.
    EXPECT_EQ(config.tools.writable_paths, std::vector<std::string>{dir / "work"});
    EXPECT_EQ(config.tools.workspace_root, dir / "work");
    EXPECT_EQ(config.tools.sandbox, "bubblewrap");
    EXPECT_EQ(config.tools.network, "none");
    EXPECT_TRUE(config.service.cors.allowed_origins.empty());
    EXPECT_EQ(config.storage.database, dir / "data/task-runner.db");
    EXPECT_EQ(config.model.provider, "auto");
    EXPECT_EQ(config.execution.max_steps, 10);
    EXPECT_EQ(config.source_of("execution.max_steps"),
              path + ":" + std::to_string(line_of(shipped, "max_steps =")));
    EXPECT_EQ(config.source_of("service.cors.allowed_origins"),
              path + ":" + std::to_string(line_of(shipped, "allowed_origins =")));
}

TEST(LoadConfig, AnEmptyFileGivesTheDefaults) {
    TempDir dir;
    const Config config = test::write_and_load_config(dir, "");
    const Config defaults;
    EXPECT_EQ(config.model.provider, "auto");
    EXPECT_EQ(config.execution.max_steps, 10);
    EXPECT_EQ(config.execution.timeout_seconds, 300);
    EXPECT_EQ(config.execution.lease_seconds, defaults.execution.lease_seconds);
    EXPECT_TRUE(config.tools.enable_file_operations);
    EXPECT_TRUE(config.tools.enable_command_execution);
    EXPECT_EQ(config.tools.forbidden_commands, defaults.tools.forbidden_commands);
    EXPECT_EQ(config.tools.sandbox, "auto");
    EXPECT_EQ(config.service.bind_address, "127.0.0.1:8080");
    EXPECT_EQ(config.service.max_concurrent_tasks, 10);
    EXPECT_EQ(config.service.default_task_timeout, 300);
    EXPECT_TRUE(config.service.enable_metrics);
    EXPECT_EQ(config.service.log_level, "info");
    EXPECT_EQ(config.service.handler_threads, defaults.service.handler_threads);
    EXPECT_TRUE(config.service.cors.allowed_origins.empty()); // no other origin
    EXPECT_TRUE(config.service.allowed_hosts.empty());
    EXPECT_EQ(effective_allowed_hosts(config.service),
              (std::vector<std::string>{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}));
    EXPECT_EQ(config.storage.synchronous, "full");
    // The default "." is the config file's directory.
    EXPECT_EQ(config.tools.working_directory, dir.path());
    EXPECT_EQ(config.tools.allowed_paths, std::vector<std::string>{dir.path()});
    EXPECT_EQ(config.storage.database, dir / "data/task-runner.db");
    EXPECT_EQ(config.storage.run_dir, ""); // empty stays empty: "a private temp dir"
    EXPECT_EQ(config.source_of("execution.max_steps"), "default");
    EXPECT_EQ(config.source_of("no.such.setting"), "default");
}

TEST(LoadConfig, FileValuesOverrideDefaultsAndRecordTheirLine) {
    TempDir dir;
    const std::string text = "execution = {\n"
                             "    max_steps = 25;\n"
                             "    retry_delay_seconds = 2;\n"
                             "};\n"
                             "model = { temperature = 0.25; max_tokens = 100; };\n"
                             "service = { enable_metrics = false; log_level = \"warn\";\n"
                             "    cors = { allowed_origins = [\"https://a.example\"]; };\n"
                             "    rate_limiting = { burst_size = 0; }; };\n"
                             "tools = { forbidden_commands = []; };\n";
    const Config config = test::write_and_load_config(dir, text);
    EXPECT_EQ(config.execution.max_steps, 25);
    EXPECT_DOUBLE_EQ(config.execution.retry_delay_seconds, 2.0); // an integer for a number is fine
    EXPECT_DOUBLE_EQ(config.model.temperature, 0.25);
    EXPECT_EQ(config.model.max_tokens, 100);
    EXPECT_FALSE(config.service.enable_metrics);
    EXPECT_EQ(config.service.log_level, "warn");
    EXPECT_EQ(config.service.cors.allowed_origins, std::vector<std::string>{"https://a.example"});
    EXPECT_EQ(config.service.rate_limiting.burst_size, 0);
    EXPECT_TRUE(config.tools.forbidden_commands.empty());
    EXPECT_EQ(config.source_of("execution.max_steps"), config_path(dir) + ":2");
    EXPECT_EQ(config.source_of("model.temperature"), config_path(dir) + ":5");
    EXPECT_EQ(config.source_of("service.cors.allowed_origins"), config_path(dir) + ":7");
    EXPECT_EQ(config.source_of("execution.max_retries"), "default");
}

TEST(LoadConfig, RelativePathsResolveAgainstTheFilesDirectory) {
    TempDir dir;
    dir.make_dir("conf/work/sub");
    dir.make_dir("shared");
    const std::string path = dir.write(
        "conf/task-runner.cfg", "tools = { working_directory = \"work/sub/..//sub/.\";\n"
                                "          allowed_paths = [\"work\", \"../shared\"]; };\n"
                                "storage = { database = \"db/tasks.db\"; run_dir = \"run\"; };\n");
    const Config config = load_config(path, environment_of());
    EXPECT_EQ(config.tools.working_directory, dir / "conf/work/sub");
    EXPECT_EQ(config.tools.allowed_paths,
              (std::vector<std::string>{dir / "conf/work", dir / "shared"}));
    EXPECT_EQ(config.storage.database, dir / "conf/db/tasks.db");
    EXPECT_EQ(config.storage.run_dir, dir / "conf/run");
}

TEST(LoadConfig, AbsolutePathsAreKept) {
    TempDir dir;
    const std::string work = dir.make_dir("elsewhere");
    const std::string path =
        dir.write("conf/task-runner.cfg", "tools = { working_directory = \"" + work +
                                              "\"; allowed_paths = [\"" + work + "\"]; };\n");
    const Config config = load_config(path, environment_of());
    EXPECT_EQ(config.tools.working_directory, work);
    EXPECT_EQ(config.tools.allowed_paths, std::vector<std::string>{work});
}

TEST(LoadConfig, EnvironmentOverridesTheFileAndRecordsTheVariable) {
    TempDir dir;
    const Config config = test::load_minimal_config(
        dir, {"", "", "max_concurrent_tasks = 3; log_level = \"info\"; enable_metrics = true;"},
        environment_of(
            {{"TASK_RUNNER_MAX_CONCURRENT_TASKS", "7"},
             {"BIND_ADDRESS", "0.0.0.0:9090"},
             {"TASK_RUNNER_LOG_LEVEL", "debug"},
             {"TASK_RUNNER_CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example,,"},
             {"TASK_RUNNER_ENABLE_METRICS", "false"},
             {"TASK_RUNNER_DEFAULT_TASK_TIMEOUT", "120"},
             {"TASK_RUNNER_API_KEY", "sk-test"}}));
    EXPECT_EQ(config.service.max_concurrent_tasks, 7);
    EXPECT_EQ(config.service.bind_address, "0.0.0.0:9090");
    EXPECT_EQ(config.service.log_level, "debug");
    EXPECT_EQ(config.service.cors.allowed_origins,
              (std::vector<std::string>{"https://a.example", "https://b.example"}));
    EXPECT_FALSE(config.service.enable_metrics);
    EXPECT_EQ(config.service.default_task_timeout, 120);
    EXPECT_EQ(config.model.api_key, "sk-test");
    EXPECT_EQ(config.source_of("service.max_concurrent_tasks"), "TASK_RUNNER_MAX_CONCURRENT_TASKS");
    EXPECT_EQ(config.source_of("service.bind_address"), "BIND_ADDRESS");
    EXPECT_EQ(config.source_of("service.log_level"), "TASK_RUNNER_LOG_LEVEL");
    EXPECT_EQ(config.source_of("service.cors.allowed_origins"), "TASK_RUNNER_CORS_ALLOWED_ORIGINS");
    EXPECT_EQ(config.source_of("service.enable_metrics"), "TASK_RUNNER_ENABLE_METRICS");
    EXPECT_EQ(config.source_of("model.api_key"), "TASK_RUNNER_API_KEY");
}

TEST(LoadConfig, BooleanVariablesAcceptTheUsualSpellings) {
    for (const char *yes : {"true", "1", "yes", "on"}) {
        TempDir dir;
        const Config config =
            test::load_minimal_config(dir, {"", "", "enable_metrics = false;"},
                                      environment_of({{"TASK_RUNNER_ENABLE_METRICS", yes}}));
        EXPECT_TRUE(config.service.enable_metrics) << yes;
    }
    for (const char *no : {"false", "0", "no", "off"}) {
        TempDir dir;
        const Config config = test::load_minimal_config(
            dir, {}, environment_of({{"TASK_RUNNER_ENABLE_METRICS", no}}));
        EXPECT_FALSE(config.service.enable_metrics) << no;
    }
}

TEST(LoadConfig, RejectsAVariableThatIsNotANumberNamingIt) {
    for (const char *value : {"ten", "12abc", "", "1.5", "99999999999999999999999"}) {
        TempDir dir;
        const std::string message =
            load_error(dir, test::minimal_config_text(),
                       environment_of({{"TASK_RUNNER_MAX_CONCURRENT_TASKS", value}}));
        EXPECT_EQ(message,
                  std::string("TASK_RUNNER_MAX_CONCURRENT_TASKS: service.max_concurrent_tasks "
                              "must be an integer (got \"") +
                      value + "\")");
    }
}

// Regression: strtoll accepted " 10" and "+10", and a value beyond int was quoted as 2147483647.
TEST(LoadConfig, AVariableIsDigitsOnlyAndOutOfRangeValuesAreQuotedAsGiven) {
    for (const char *value : {" 10", "+10", "\t4"}) {
        TempDir dir;
        const std::string message =
            load_error(dir, test::minimal_config_text(),
                       environment_of({{"TASK_RUNNER_MAX_CONCURRENT_TASKS", value}}));
        EXPECT_TRUE(contains(message, "must be an integer")) << value << ": " << message;
    }
    TempDir dir;
    const std::string message =
        load_error(dir, test::minimal_config_text(),
                   environment_of({{"TASK_RUNNER_MAX_CONCURRENT_TASKS", "4294967296"}}));
    EXPECT_EQ(message,
              "TASK_RUNNER_MAX_CONCURRENT_TASKS: service.max_concurrent_tasks must be 1..1024 "
              "(got 4294967296)");
}

TEST(LoadConfig, AnIntegerBeyondIntInTheFileIsQuotedAsWritten) {
    TempDir dir;
    const std::string message = load_error(dir, "execution = { max_steps = 4294967296L; };");
    EXPECT_EQ(message,
              config_path(dir) + ":1: execution.max_steps must be 1..1000 (got 4294967296)");
}

TEST(LoadConfig, RejectsAVariableOutOfRangeNamingIt) {
    TempDir dir;
    const std::string message =
        load_error(dir, test::minimal_config_text(),
                   environment_of({{"TASK_RUNNER_MAX_CONCURRENT_TASKS", "0"}}));
    EXPECT_EQ(message, "TASK_RUNNER_MAX_CONCURRENT_TASKS: service.max_concurrent_tasks must be "
                       "1..1024 (got 0)");
}

TEST(LoadConfig, RejectsABooleanVariableThatIsNotABoolean) {
    TempDir dir;
    const std::string message =
        load_error(dir, test::minimal_config_text(),
                   environment_of({{"TASK_RUNNER_ENABLE_METRICS", "maybe"}}));
    EXPECT_EQ(
        message,
        "TASK_RUNNER_ENABLE_METRICS: service.enable_metrics must be true or false (got \"maybe\")");
}

TEST(LoadConfig, RejectsAnUnknownLogLevelFromTheEnvironment) {
    TempDir dir;
    const std::string message = load_error(dir, test::minimal_config_text(),
                                           environment_of({{"TASK_RUNNER_LOG_LEVEL", "loud"}}));
    EXPECT_TRUE(contains(message, "TASK_RUNNER_LOG_LEVEL: service.log_level must be one of debug, "
                                  "info, warn, error (got \"loud\")"))
        << message;
}

TEST(LoadConfig, RejectsABadBindAddressFromTheEnvironment) {
    TempDir dir;
    const std::string message = load_error(dir, test::minimal_config_text(),
                                           environment_of({{"BIND_ADDRESS", "0.0.0.0:http"}}));
    EXPECT_TRUE(contains(message, "BIND_ADDRESS: service.bind_address must be HOST:PORT or PORT"))
        << message;
    EXPECT_TRUE(contains(message, "(got \"0.0.0.0:http\")")) << message;
}

TEST(LoadConfig, ParseErrorsReportFileLineAndReason) {
    TempDir dir;
    const std::string text = "execution = {\n"
                             "    max_steps = 10;\n"
                             "    max_retries = ;\n"
                             "};\n";
    const std::string message = load_error(dir, text);
    EXPECT_EQ(message.rfind(config_path(dir) + ":3: ", 0), 0u) << message;
    EXPECT_TRUE(contains(message, "syntax error")) << message;
}

TEST(LoadConfig, ParseErrorsCoverAMissingSemicolonAndAnUnclosedGroup) {
    TempDir dir;
    EXPECT_TRUE(contains(load_error(dir, "service = {\n  log_level = \"info\"\n  x = 1;\n};\n"),
                         config_path(dir) + ":3: "));
    EXPECT_TRUE(contains(load_error(dir, "service = {\n  log_level = \"info\";\n"),
                         config_path(dir) + ":"));
}

TEST(LoadConfig, RejectsAMissingFile) {
    TempDir dir;
    try {
        load_config(dir / "missing.cfg", environment_of());
        FAIL() << "a missing file was accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        EXPECT_EQ(std::string(e.what()),
                  dir / "missing.cfg" + ": cannot read config file: No such file or directory");
    }
}

TEST(LoadConfig, OutOfRangeValuesNameTheSettingAndTheLine) {
    TempDir dir;
    const std::string text = "model = { provider = \"builtin\"; };\n"
                             "execution = {\n"
                             "    max_steps = 0;\n"
                             "};\n";
    EXPECT_EQ(load_error(dir, text),
              config_path(dir) + ":3: execution.max_steps must be 1..1000 (got 0)");
}

TEST(LoadConfig, OutOfRangeValuesAreReportedForEveryKindOfNumber) {
    struct Case {
        const char *text;
        const char *message;
    };
    const Case cases[] = {
        {"execution = { max_steps = 1001; };", "execution.max_steps must be 1..1000 (got 1001)"},
        {"model = { temperature = 2.5; };", "model.temperature must be 0..2 (got 2.5)"},
        {"model = { temperature = -0.1; };", "model.temperature must be 0..2 (got -0.1)"},
        {"service = { cors = { max_age_seconds = -1; }; };",
         "service.cors.max_age_seconds must be 0..86400 (got -1)"},
        {"execution = { timeout_seconds = 10000000000L; };",
         "execution.timeout_seconds must be 1..86400"},
    };
    for (const Case &c : cases) {
        TempDir dir;
        const std::string message = load_error(dir, c.text);
        EXPECT_TRUE(contains(message, config_path(dir) + ":1: " + c.message)) << message;
    }
}

// Regression: numbers in these messages were printed with six significant digits, so the
// range of tools.max_output_bytes read "1024..1.67772e+07" and large values were rounded.
TEST(LoadConfig, OutOfRangeMessagesPrintLargeNumbersExactly) {
    struct Case {
        const char *text;
        const char *message;
    };
    const Case cases[] = {
        {"tools = { max_output_bytes = 10; };",
         "tools.max_output_bytes must be 1024..16777216 (got 10)"},
        {"tools = { max_output_bytes = 16777217; };",
         "tools.max_output_bytes must be 1024..16777216 (got 16777217)"},
        {"tools = { max_file_bytes = 2000000001; };",
         "tools.max_file_bytes must be 1..1073741824 (got 2000000001)"},
        {"service = { rate_limiting = { requests_per_minute = 1234567; }; };",
         "service.rate_limiting.requests_per_minute must be 1..1000000 (got 1234567)"},
    };
    for (const Case &c : cases) {
        TempDir dir;
        const std::string message = load_error(dir, c.text);
        EXPECT_EQ(message, config_path(dir) + ":1: " + c.message);
    }
}

TEST(ApplyConfigJson, RejectsValuesOfTheWrongTypeAsTheFileDoes) {
    struct Case {
        const char *json;
        const char *message;
    };
    const Case cases[] = {
        {R"({"execution": {"max_steps": "ten"}})",
         "execution.max_steps must be an integer (got a string)"},
        {R"({"execution": {"max_steps": 1.5}})",
         "execution.max_steps must be an integer (got a number)"},
        {R"({"service": {"enable_metrics": 1}})",
         "service.enable_metrics must be a boolean (got an integer)"},
        {R"({"model": {"temperature": "hot"}})",
         "model.temperature must be a number (got a string)"},
        {R"({"tools": {"allowed_paths": "."}})",
         "tools.allowed_paths must be a list of strings, such as [\"a\", \"b\"] (got a string)"},
        {R"({"tools": {"forbidden_commands": ["rm -rf", true]}})",
         "tools.forbidden_commands must be a list of strings (item 2 is a boolean)"},
        {R"({"tools": {"sandbox": {"kind": "none"}}})",
         "tools.sandbox must be a string (got an object)"},
    };
    for (const Case &c : cases) {
        TempDir dir;
        Config config = test::load_minimal_config(dir);
        const JsonPtr partial(json_loads(c.json, 0, nullptr));
        ASSERT_TRUE(partial) << c.json;
        const std::vector<std::string> problems = apply_config_json(config, partial.get(), "API");
        ASSERT_FALSE(problems.empty()) << c.json;
        EXPECT_TRUE(contains(problems[0], c.message)) << problems[0];
    }
}

TEST(ApplyConfigJson, TakesEachTypeOfValue) {
    TempDir dir;
    Config config = test::load_minimal_config(dir);
    const JsonPtr partial(json_loads(R"({"execution": {"max_steps": 7},
        "service": {"enable_metrics": false, "log_level": "warn",
                    "cors": {"allowed_origins": ["https://a.example", "https://b.example"]}},
        "model": {"temperature": 1}})",
                                     0, nullptr));
    ASSERT_TRUE(partial);
    EXPECT_EQ(apply_config_json(config, partial.get(), "API"), std::vector<std::string>{});
    EXPECT_EQ(config.execution.max_steps, 7);
    EXPECT_FALSE(config.service.enable_metrics);
    EXPECT_EQ(config.service.log_level, "warn");
    EXPECT_EQ(config.service.cors.allowed_origins,
              (std::vector<std::string>{"https://a.example", "https://b.example"}));
    EXPECT_DOUBLE_EQ(config.model.temperature, 1.0); // an integer is a number too
    EXPECT_EQ(config.sources.at("execution.max_steps"), "API");
}

TEST(LoadConfig, RejectsValuesOfTheWrongType) {
    struct Case {
        const char *text;
        const char *message;
    };
    const Case cases[] = {
        {"execution = { max_steps = \"ten\"; };",
         "execution.max_steps must be an integer (got a string)"},
        {"execution = { max_steps = 1.5; };",
         "execution.max_steps must be an integer (got a number)"},
        {"service = { enable_metrics = 1; };",
         "service.enable_metrics must be a boolean (got an integer)"},
        {"service = { bind_address = 8080; };",
         "service.bind_address must be a string (got an integer)"},
        {"model = { temperature = \"hot\"; };",
         "model.temperature must be a number (got a string)"},
        {"tools = { allowed_paths = \".\"; };",
         "tools.allowed_paths must be a list of strings, such as [\"a\", \"b\"] (got a string)"},
        {"tools = { forbidden_commands = [1, 2]; };",
         "tools.forbidden_commands must be a list of strings (item 1 is an integer)"},
        {"tools = { forbidden_commands = (\"rm -rf\", true); };",
         "tools.forbidden_commands must be a list of strings (item 2 is a boolean)"},
        {"tools = { sandbox = true; };", "tools.sandbox must be a string (got a boolean)"},
        {"service = { log_level = { level = \"info\"; }; };",
         "service.log_level must be a string (got a group)"},
    };
    for (const Case &c : cases) {
        TempDir dir;
        const std::string message = load_error(dir, c.text);
        EXPECT_TRUE(contains(message, config_path(dir) + ":1: " + c.message)) << message;
    }
}

TEST(LoadConfig, RejectsValuesOutsideTheirChoices) {
    struct Case {
        const char *text;
        const char *message;
    };
    const Case cases[] = {
        {"tools = { sandbox = \"docker\"; };",
         "tools.sandbox must be one of auto, bubblewrap, none (got \"docker\")"},
        {"service = { log_level = \"verbose\"; };",
         "service.log_level must be one of debug, info, warn, error (got \"verbose\")"},
        {"storage = { synchronous = \"off\"; };",
         "storage.synchronous must be one of normal, full (got \"off\")"},
        {"model = { provider = \"nonsense\"; };",
         "model.provider must be one of auto, builtin, openai, anthropic, zhipu, local (got "
         "\"nonsense\")"},
    };
    for (const Case &c : cases) {
        TempDir dir;
        const std::string message = load_error(dir, c.text);
        EXPECT_TRUE(contains(message, config_path(dir) + ":1: " + c.message)) << message;
    }
}

TEST(LoadConfig, RejectsAnUnknownSettingListingTheKnownOnes) {
    TempDir dir;
    const std::string message = load_error(dir, "execution = {\n    max_stepz = 5;\n};\n");
    EXPECT_TRUE(contains(message, config_path(dir) +
                                      ":2: unknown setting execution.max_stepz (execution "
                                      "takes max_steps, max_retries, "))
        << message;
    EXPECT_TRUE(contains(message, "lease_seconds")) << message;
}

TEST(LoadConfig, RejectsAnUnknownGroupListingTheKnownOnes) {
    TempDir dir;
    const std::string message = load_error(dir, "\nmodle = { provider = \"builtin\"; };\n");
    EXPECT_EQ(message, config_path(dir) +
                           ":2: unknown setting modle (the file takes model, execution, tools, "
                           "service, storage, webhooks)");
}

TEST(LoadConfig, RejectsAnUnknownSettingInANestedGroup) {
    TempDir dir;
    const std::string message =
        load_error(dir, "service = {\n  cors = {\n    allowed_origin = [\"*\"];\n  };\n};\n");
    EXPECT_TRUE(contains(
        message, config_path(dir) + ":3: unknown setting service.cors.allowed_origin (service.cors "
                                    "takes allowed_origins, allowed_methods, allowed_headers, "
                                    "allow_credentials, max_age_seconds)"))
        << message;
}

// Regression: a known group given as a plain value ("execution = 5;") was reported as
// "unknown setting execution (the file takes model, execution, ...)", contradicting itself.
TEST(LoadConfig, RejectsAGroupGivenAsAPlainValueSayingItMustBeAGroup) {
    TempDir dir;
    EXPECT_EQ(load_error(dir, "\nexecution = 5;\n"),
              config_path(dir) +
                  ":2: execution must be a group, such as execution = { ... }; (got an integer)");
    EXPECT_EQ(
        load_error(dir, "service = { cors = [\"*\"]; };\n"),
        config_path(dir) +
            ":1: service.cors must be a group, such as service.cors = { ... }; (got an array)");
}

// Regression: the settings listed for a typo inside service left out its groups cors and
// rate_limiting, so "cor = { ... }" got a list without the name that was meant.
TEST(LoadConfig, AnUnknownSettingInServiceListsItsGroupsToo) {
    TempDir dir;
    const std::string message = load_error(dir, "service = { cor = { max_age_seconds = 1; }; };\n");
    EXPECT_TRUE(contains(message, config_path(dir) +
                                      ":1: unknown setting service.cor (service takes "
                                      "bind_address, "))
        << message;
    EXPECT_TRUE(contains(message, ", cors, rate_limiting)")) << message;
}

TEST(LoadConfig, ReportsSeveralProblemsTogether) {
    TempDir dir;
    const std::string text = "execution = {\n"
                             "    max_steps = 0;\n"
                             "    poll_interval_ms = \"fast\";\n"
                             "};\n"
                             "service = {\n"
                             "    log_level = \"loud\";\n"
                             "    colour = \"blue\";\n"
                             "};\n";
    const std::string message = load_error(dir, text);
    const std::vector<std::string> lines = split_lines(message);
    ASSERT_EQ(lines.size(), 4u) << message;
    const std::string path = config_path(dir);
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        path + ":2: execution.max_steps must be 1..1000 (got 0)"),
              lines.end())
        << message;
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        path + ":3: execution.poll_interval_ms must be an integer (got a string)"),
              lines.end())
        << message;
    EXPECT_NE(
        std::find(
            lines.begin(), lines.end(),
            path + ":6: service.log_level must be one of debug, info, warn, error (got \"loud\")"),
        lines.end())
        << message;
    EXPECT_TRUE(contains(message, path + ":7: unknown setting service.colour")) << message;
}

TEST(LoadConfig, ReportsFileAndEnvironmentProblemsTogether) {
    TempDir dir;
    const std::string message =
        load_error(dir, "execution = { max_steps = 0; };\n",
                   environment_of({{"TASK_RUNNER_MAX_CONCURRENT_TASKS", "many"}}));
    EXPECT_EQ(split_lines(message).size(), 2u) << message;
    EXPECT_TRUE(contains(message, "execution.max_steps must be 1..1000 (got 0)")) << message;
    EXPECT_TRUE(contains(message, "TASK_RUNNER_MAX_CONCURRENT_TASKS")) << message;
}

TEST(LoadConfig, RejectsADefaultTaskTimeoutAboveTheTaskTimeout) {
    TempDir dir;
    const std::string text =
        test::minimal_config_text({"timeout_seconds = 100;", "", "default_task_timeout = 200;"});
    const std::string message = load_error(dir, text);
    EXPECT_EQ(message,
              config_path(dir) + ":" + std::to_string(line_of(text, "default_task_timeout")) +
                  ": service.default_task_timeout must not exceed execution.timeout_seconds "
                  "(200 > 100)");
}

TEST(LoadConfig, RejectsADefaultTaskTimeoutAboveTheDefaultTaskTimeoutCeiling) {
    TempDir dir;
    const std::string message =
        load_error(dir, test::minimal_config_text(),
                   environment_of({{"TASK_RUNNER_DEFAULT_TASK_TIMEOUT", "301"}}));
    EXPECT_EQ(message, "TASK_RUNNER_DEFAULT_TASK_TIMEOUT: service.default_task_timeout must not "
                       "exceed execution.timeout_seconds (301 > 300)");
}

TEST(LoadConfig, AcceptsADefaultTaskTimeoutEqualToTheTaskTimeout) {
    TempDir dir;
    const Config config = test::load_minimal_config(
        dir, {"timeout_seconds = 100;", "", "default_task_timeout = 100;"});
    EXPECT_EQ(config.service.default_task_timeout, 100);
}

TEST(LoadConfig, RejectsABadBindAddress) {
    for (const char *address :
         {"localhost", "127.0.0.1:0", "127.0.0.1:65536", "::1:80", ":8080", ""}) {
        TempDir dir;
        const std::string text =
            test::minimal_config_text({"", "", std::string("bind_address = \"") + address + "\";"});
        const std::string message = load_error(dir, text);
        EXPECT_EQ(message,
                  config_path(dir) + ":" + std::to_string(line_of(text, "bind_address")) +
                      ": service.bind_address must be HOST:PORT or PORT with a port 1..65535 "
                      "(got \"" +
                      address + "\")");
    }
}

TEST(LoadConfig, RejectsAWorkingDirectoryThatDoesNotExist) {
    TempDir dir;
    const std::string message =
        load_error(dir, "tools = { working_directory = \"nowhere\"; allowed_paths = [\".\"]; };\n");
    EXPECT_EQ(message, config_path(dir) + ":1: tools.working_directory \"" + dir / "nowhere" +
                           "\" is not an existing directory");
}

TEST(LoadConfig, RejectsAWorkingDirectoryThatIsAFile) {
    TempDir dir;
    dir.write("file.txt", "x");
    const std::string message = load_error(
        dir, "tools = { working_directory = \"file.txt\"; allowed_paths = [\".\"]; };\n");
    EXPECT_TRUE(contains(message, "tools.working_directory \"" + dir / "file.txt" +
                                      "\" is not an existing directory"))
        << message;
}

TEST(LoadConfig, RejectsAnAllowedPathThatDoesNotExist) {
    TempDir dir;
    const std::string message =
        load_error(dir, "tools = { working_directory = \"work\";\n"
                        "          allowed_paths = [\"work\", \"missing\"]; };\n");
    EXPECT_EQ(message, config_path(dir) + ":2: tools.allowed_paths entry \"" + dir / "missing" +
                           "\" is not an existing directory");
}

TEST(LoadConfig, RejectsAnEmptyAllowedPathsList) {
    TempDir dir;
    const std::string message =
        load_error(dir, "tools = { working_directory = \"work\"; allowed_paths = []; };\n");
    EXPECT_TRUE(contains(message, config_path(dir) +
                                      ":1: tools.allowed_paths must list at least one directory"))
        << message;
}

TEST(LoadConfig, RejectsAWorkingDirectoryOutsideTheAllowedPaths) {
    TempDir dir;
    dir.make_dir("other");
    const std::string message =
        load_error(dir, "tools = { working_directory = \"other\"; allowed_paths = [\"work\"]; "
                        "writable_paths = [\"work\"]; };\n");
    EXPECT_EQ(message, config_path(dir) + ":1: tools.working_directory \"" + dir / "other" +
                           "\" is outside tools.allowed_paths and tools.writable_paths");
}

TEST(LoadConfig, RejectsAWorkingDirectoryThatIsOnlyAPrefixOfAnAllowedPath) {
    TempDir dir;
    dir.make_dir("workshop");
    const std::string message =
        load_error(dir, "tools = { working_directory = \"workshop\"; allowed_paths = [\"work\"]; "
                        "writable_paths = []; };\n");
    EXPECT_TRUE(contains(message, "is outside tools.allowed_paths")) << message;
}

TEST(LoadConfig, RejectsCredentialsWithAWildcardOrigin) {
    TempDir dir;
    const std::string message = load_error(
        dir,
        test::minimal_config_text({"", "",
                                   "require_api_key = true; cors = { allow_credentials = true; "
                                   "allowed_origins = [\"*\"]; };"}));
    EXPECT_TRUE(contains(message, "service.cors.allow_credentials cannot be true while "
                                  "service.cors.allowed_origins contains \"*\""))
        << message;
}

// Regression: the development config answered every origin with "*" and no key, so any web page
// could read every task's output and event stream.
TEST(LoadConfig, RefusesAnyOriginWithoutApiKeysSayingWhy) {
    TempDir dir;
    const std::string message = load_error(
        dir, test::minimal_config_text({"", "", "cors = { allowed_origins = [\"*\"]; };"}));
    EXPECT_TRUE(contains(message, "service.cors.allowed_origins cannot contain \"*\" while "
                                  "service.require_api_key is false: every web page could then "
                                  "read every task"))
        << message;
    // The same from the environment.
    dir.make_dir("work");
    const std::string from_env = load_error(
        dir, test::minimal_config_text(),
        test::environment_of({{"TASK_RUNNER_CORS_ALLOWED_ORIGINS", "https://a.example,*"}}));
    EXPECT_TRUE(contains(from_env, "TASK_RUNNER_CORS_ALLOWED_ORIGINS: service.cors.allowed_origins "
                                   "cannot contain \"*\""))
        << from_env;
}

// Regression (tests/fuzz/config_file checks it; corpus: origin_regex.cfg): an entry went into
// nginx's map of allowed origins as it was, where "~." is a regular expression that allows
// every origin, without API keys, which "*" may not; and "default" or "include" are the map's
// own parameters.
TEST(LoadConfig, RefusesAllowedOriginsThatAreNotOrigins) {
    const auto quoted = [](const std::string &text) { // a libconfig string
        std::string out = "\"";
        for (const char c : text)
            out += (c == '"' || c == '\\' ? "\\" : "") + std::string(1, c);
        return out + "\"";
    };
    for (const char *entry : {"~.", "\\~.", "default", "include", "", "https://", "://a.example",
                              "https://a.example/", "https://a.example/x", "https://a b.example",
                              "https://a.example\"", "1http://a.example", "null"}) {
        TempDir dir;
        const std::string message = load_error(
            dir,
            test::minimal_config_text(
                {"", "", std::string("cors = { allowed_origins = [") + quoted(entry) + "]; };"}));
        EXPECT_TRUE(contains(message, "service.cors.allowed_origins entries must be \"*\" or an "
                                      "origin as browsers send it"))
            << entry << ": " << message;
    }
    TempDir dir;
    const Config config = test::load_minimal_config(
        dir, {"", "",
              "cors = { allowed_origins = [\"https://console.example.com\", "
              "\"http://localhost:3000\", \"http://[::1]:8080\", \"chrome-extension://abc\"]; };"});
    EXPECT_EQ(config.service.cors.allowed_origins.size(), 4u);
}

TEST(LoadConfig, AcceptsAnyOriginWithApiKeys) {
    TempDir dir;
    const Config config = test::load_minimal_config(
        dir, {"", "", "require_api_key = true; cors = { allowed_origins = [\"*\"]; };"});
    EXPECT_EQ(config.service.cors.allowed_origins, std::vector<std::string>{"*"});
}

TEST(LoadConfig, ChecksTheAllowedHosts) {
    TempDir dir;
    const std::string message = load_error(
        dir, test::minimal_config_text(
                 {"", "",
                  "allowed_hosts = [\"ok.example\", \"bad host\", \"x:port\", \"a/b\", \"*\"];"}));
    for (const char *bad : {"\"bad host\"", "\"x:port\"", "\"a/b\""})
        EXPECT_TRUE(
            contains(message, std::string("service.allowed_hosts entries must be a host "
                                          "name or address, optionally with :port, such "
                                          "as \"tasks.example.com\" or \"[::1]:8080\" (got ") +
                                  bad + ")"))
            << message;
    EXPECT_FALSE(contains(message, "ok.example")) << message;
    EXPECT_TRUE(contains(message, "service.allowed_hosts cannot contain \"*\" while "
                                  "service.require_api_key is false"))
        << message;
    const Config config = test::load_minimal_config(
        dir, {"", "",
              "require_api_key = true; allowed_hosts = [\"*\", \"[::1]:80\", \"10.0.0.1:9000\", "
              "\"Tasks.Example.COM\"];"});
    EXPECT_EQ(effective_allowed_hosts(config.service).size(), 4u);
}

TEST(EffectiveAllowedHosts, FollowTheBindAddressUnlessConfigured) {
    ServiceConfig service;
    service.bind_address = "127.0.0.1:9000";
    EXPECT_EQ(effective_allowed_hosts(service),
              (std::vector<std::string>{"127.0.0.1:9000", "localhost:9000", "[::1]:9000"}));
    service.bind_address = "[::1]:9000";
    EXPECT_EQ(effective_allowed_hosts(service),
              (std::vector<std::string>{"[::1]:9000", "localhost:9000", "127.0.0.1:9000"}));
    service.bind_address = "0.0.0.0:80"; // every interface: the loopback names, no more
    EXPECT_EQ(effective_allowed_hosts(service),
              (std::vector<std::string>{"localhost:80", "127.0.0.1:80", "[::1]:80"}));
    service.bind_address = "192.168.1.5:8080";
    EXPECT_EQ(effective_allowed_hosts(service), std::vector<std::string>{"192.168.1.5:8080"});
    service.allowed_hosts = {"tasks.example.com"};
    EXPECT_EQ(effective_allowed_hosts(service), std::vector<std::string>{"tasks.example.com"});
}

TEST(LoadConfig, ChecksTheSandboxSettings) {
    TempDir dir;
    const std::string message = load_error(
        dir, test::minimal_config_text({"", "network = \"internet\"; sandbox_uid = 0;", ""}));
    EXPECT_TRUE(contains(message, "tools.network must be one of none, host (got \"internet\")"))
        << message;
    EXPECT_TRUE(contains(message, "tools.sandbox_uid must be 1..2147483647 (got 0)")) << message;
}

TEST(LoadConfig, ChecksTheGrantedDirectories) {
    TempDir dir;
    const std::string message =
        load_error(dir, test::minimal_config_text(
                            {"",
                             "writable_paths = [\"work\", \"nope\"]; workspace_root = \"gone\";\n"
                             "shared_directories = [\"alice\", \"../x:y\", \"bob:missing\"];",
                             ""}));
    for (const std::string &expected :
         {"tools.writable_paths entry \"" + dir / "nope" + "\" is not an existing directory",
          "tools.workspace_root \"" + dir / "gone" + "\" is not an existing directory",
          std::string("tools.shared_directories entries must be OWNER:DIRECTORY, such as "
                      "\"alice:/srv/shared/team\" (got \"alice\")"),
          std::string("(got \"../x:y\")"),
          "tools.shared_directories entry \"bob:missing\": \"" + dir / "missing" +
              "\" is not an existing directory"})
        EXPECT_TRUE(contains(message, expected)) << expected << "\n" << message;
}

TEST(LoadConfig, SharedDirectoriesResolveAgainstTheFilesDirectory) {
    TempDir dir;
    dir.make_dir("team");
    const Config config =
        test::load_minimal_config(dir, {"", "shared_directories = [\"alice:team\"];", ""});
    EXPECT_EQ(config.tools.shared_directories, std::vector<std::string>{"alice:" + dir / "team"});
}

TEST(LoadConfig, AcceptsCredentialsWithExplicitOrigins) {
    TempDir dir;
    const Config config = test::load_minimal_config(
        dir, {"", "",
              "cors = { allow_credentials = true; allowed_origins = [\"https://a.example\"]; };"});
    EXPECT_TRUE(config.service.cors.allow_credentials);
}

TEST(ParseBindAddress, AcceptsABarePortAsLoopback) {
    const std::optional<BindAddress> address = parse_bind_address("8080");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->host, "127.0.0.1");
    EXPECT_EQ(address->port, 8080);
}

TEST(ParseBindAddress, AcceptsHostAndPort) {
    const std::optional<BindAddress> any = parse_bind_address("0.0.0.0:8080");
    ASSERT_TRUE(any);
    EXPECT_EQ(any->host, "0.0.0.0");
    EXPECT_EQ(any->port, 8080);
    const std::optional<BindAddress> name = parse_bind_address("localhost:1");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->host, "localhost");
    EXPECT_EQ(name->port, 1);
    const std::optional<BindAddress> highest = parse_bind_address("127.0.0.1:65535");
    ASSERT_TRUE(highest);
    EXPECT_EQ(highest->port, 65535);
}

TEST(ParseBindAddress, AcceptsABracketedIpv6Address) {
    const std::optional<BindAddress> address = parse_bind_address("[::1]:9000");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->host, "::1");
    EXPECT_EQ(address->port, 9000);
}

TEST(ParseBindAddress, RejectsBadPorts) {
    for (const char *text : {"0", "65536", "99999", "123456", "-1", "80a", "http", "", "127.0.0.1:",
                             "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1: 80"})
        EXPECT_FALSE(parse_bind_address(text)) << text;
}

TEST(ParseBindAddress, RejectsAnIpv6AddressWithoutBrackets) {
    EXPECT_FALSE(parse_bind_address("::1:80"));
    EXPECT_FALSE(parse_bind_address("fe80::1:8080"));
}

// Regression, found by tests/fuzz/config_file (corpus: bind_address_host.cfg): any host went,
// unquoted, into nginx's listen directive, so a bind address could carry more of nginx's
// configuration, and its default allowed host was one nothing could match.
TEST(ParseBindAddress, RejectsAHostThatIsNeitherANameNorAnAddress) {
    for (const char *text : {"126!0.0.1:8080", "127.0.0.1; error_log /tmp/x; listen 127.0.0.1:8081",
                             "a b:80", "exa_mple.test:80", "[::1;]:80", "[::g]:80", "\"x\":80"})
        EXPECT_FALSE(parse_bind_address(text)) << text;
    EXPECT_TRUE(parse_bind_address("tasks-1.example.test:8080"));
    EXPECT_TRUE(parse_bind_address("[fe80::1]:8080"));
}

TEST(ParseBindAddress, RejectsAnEmptyHost) {
    EXPECT_FALSE(parse_bind_address(":8080"));
    EXPECT_FALSE(parse_bind_address("[]:8080"));
}

TEST(DefaultConfigPath, UsesTheVariableWhenSet) {
    EXPECT_EQ(default_config_path(environment_of({{"TASK_RUNNER_CONFIG", "/etc/tr.cfg"}})),
              "/etc/tr.cfg");
}

TEST(DefaultConfigPath, FallsBackToTheBuildsDefaultWhenUnsetOrEmpty) {
    const std::string fallback = default_config_path(environment_of());
    EXPECT_TRUE(contains(fallback, "config/task-runner.cfg")) << fallback;
    EXPECT_EQ(default_config_path(environment_of({{"TASK_RUNNER_CONFIG", ""}})), fallback);
}

TEST(ConfigEnvironmentVariables, ListsTheVariablesTheSpecNames) {
    const std::vector<std::string> names = config_environment_variables();
    for (const char *name : {"TASK_RUNNER_MAX_CONCURRENT_TASKS", "TASK_RUNNER_DEFAULT_TASK_TIMEOUT",
                             "TASK_RUNNER_ENABLE_METRICS", "TASK_RUNNER_LOG_LEVEL", "BIND_ADDRESS",
                             "TASK_RUNNER_MODEL_PROVIDER", "TASK_RUNNER_MODEL_NAME",
                             "TASK_RUNNER_API_KEY", "TASK_RUNNER_CORS_ALLOWED_ORIGINS"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
}

} // namespace
} // namespace tr
