// core/task_request: the body of POST /api/v1/tasks, validated completely before anything is
// written; every rejection names the field. resolve_task_context: the context's defaults and
// limits, never wider than the server's configuration.
#include "core/task_request.h"

#include "core/paths.h"

#include "core/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

class TaskRequestTest : public ::testing::Test {
protected:
    void SetUp() override { load(); }

    // Reloads the configuration with extra settings; `work/` is the tools' working directory.
    void load(const test::ConfigExtras &extras = {}) {
        config_ = test::load_minimal_config(dir_, extras);
        work_ = dir_ / "work";
    }

    TaskRequest parse(const std::string &body) const {
        const JsonPtr json = parse_json(body);
        return parse_task_request(json.get(), config_, "");
    }

    // The message of the rejection of `body`.
    std::string rejection(const std::string &body) const {
        const JsonPtr json = parse_json(body);
        try {
            parse_task_request(json.get(), config_, "");
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            return e.what();
        }
        ADD_FAILURE() << "accepted: " << body;
        return "";
    }

    // The rejection of a request whose context is `context` (JSON text).
    std::string context_rejection(const std::string &context) const {
        return rejection(R"({"task":"t","context":)" + context + "}");
    }

    static std::string quoted(const std::string &text) { return "\"" + text + "\""; }

    TempDir dir_;
    Config config_;
    std::string work_;
};

TEST_F(TaskRequestTest, AcceptsTheFullSpecExample) {
    const std::string project = dir_.make_dir("work/project");
    const TaskRequest request = parse(R"({"task": "list the files in .", "task_id": "custom-id",
        "priority": "high", "metadata": {"k": "v"},
        "context": {"working_directory": )" +
                                      quoted(project) + R"(, "environment": {"VAR": "value"},
                    "tools": ["read_file", "write_file"],
                    "constraints": {"max_execution_time": 300, "max_steps": 10,
                                    "allowed_paths": [)" +
                                      quoted(project) + R"(]}}})");
    EXPECT_EQ(request.task, "list the files in .");
    EXPECT_EQ(request.task_id, "custom-id");
    EXPECT_EQ(request.priority, Priority::High);
    ASSERT_TRUE(json_is_object(request.metadata.get()));
    EXPECT_EQ(json_string_member(request.metadata.get(), "k"), "v");
    ASSERT_TRUE(json_is_object(request.context.get()));

    const TaskContext context = resolve_task_context(request.context.get(), config_, "");
    EXPECT_EQ(context.working_directory, project);
    EXPECT_EQ(context.allowed_paths, std::vector<std::string>{project});
    EXPECT_EQ(context.environment,
              (std::vector<std::pair<std::string, std::string>>{{"VAR", "value"}}));
    EXPECT_EQ(context.tools, (std::vector<std::string>{"read_file", "write_file"}));
    EXPECT_EQ(context.timeout_seconds, 300);
    EXPECT_EQ(context.max_steps, 10);
}

TEST_F(TaskRequestTest, AcceptsAMinimalBody) {
    const TaskRequest request = parse(R"({"task":"read README.md"})");
    EXPECT_EQ(request.task, "read README.md");
    EXPECT_EQ(request.task_id, std::nullopt);
    EXPECT_EQ(request.priority, Priority::Normal);
    EXPECT_EQ(request.metadata, nullptr);
    EXPECT_EQ(request.context, nullptr);
}

TEST_F(TaskRequestTest, TreatsNullMetadataAndContextAsAbsent) {
    const TaskRequest request = parse(R"({"task":"t","metadata":null,"context":null})");
    EXPECT_EQ(request.metadata, nullptr);
    EXPECT_EQ(request.context, nullptr);
}

TEST_F(TaskRequestTest, AcceptsEveryPriority) {
    EXPECT_EQ(parse(R"({"task":"t","priority":"low"})").priority, Priority::Low);
    EXPECT_EQ(parse(R"({"task":"t","priority":"normal"})").priority, Priority::Normal);
    EXPECT_EQ(parse(R"({"task":"t","priority":"high"})").priority, Priority::High);
    EXPECT_EQ(parse(R"({"task":"t","priority":"critical"})").priority, Priority::Critical);
}

TEST_F(TaskRequestTest, AcceptsTaskTextOfExactlyTheMaximumSize) {
    const std::string text(max_task_text_bytes, 'x');
    EXPECT_EQ(parse(R"({"task":")" + text + "\"}").task.size(), max_task_text_bytes);
}

TEST_F(TaskRequestTest, AcceptsATaskIdOfEveryAllowedCharacterAndMaximumLength) {
    EXPECT_EQ(parse(R"({"task":"t","task_id":"Az09-_.:"})").task_id, "Az09-_.:");
    const std::string longest(max_task_id_length, 'i');
    EXPECT_EQ(parse(R"({"task":"t","task_id":")" + longest + "\"}").task_id, longest);
}

TEST_F(TaskRequestTest, RejectsABodyThatIsNotAnObject) {
    EXPECT_EQ(rejection("[]"), "the request body must be a JSON object (got an array)");
    EXPECT_EQ(rejection(R"(["task"])"), "the request body must be a JSON object (got an array)");
}

TEST_F(TaskRequestTest, RejectsAMissingTask) {
    EXPECT_TRUE(contains(rejection(R"({"priority":"high"})"), "task is required"))
        << rejection("{}");
    EXPECT_TRUE(contains(rejection("{}"), "task is required"));
}

TEST_F(TaskRequestTest, RejectsAnEmptyOrBlankTask) {
    EXPECT_EQ(rejection(R"({"task":""})"), "task must not be empty");
    EXPECT_EQ(rejection(R"({"task":"  \n\t\r "})"), "task must not be empty");
}

TEST_F(TaskRequestTest, RejectsATaskThatIsTooLong) {
    const std::string text(max_task_text_bytes + 1, 'x');
    EXPECT_EQ(rejection(R"({"task":")" + text + "\"}"),
              "task must be at most 32768 bytes (got 32769)");
}

TEST_F(TaskRequestTest, RejectsATaskThatIsNotAString) {
    EXPECT_EQ(rejection(R"({"task":42})"), "task must be a string (got 42)");
    EXPECT_EQ(rejection(R"({"task":null})"), "task must be a string (got null)");
    EXPECT_EQ(rejection(R"({"task":["read"]})"), "task must be a string (got an array)");
    EXPECT_EQ(rejection(R"({"task":{"text":"read"}})"), "task must be a string (got an object)");
    EXPECT_EQ(rejection(R"({"task":true})"), "task must be a string (got a boolean)");
}

TEST_F(TaskRequestTest, RejectsATaskIdWithBadCharacters) {
    for (const char *id : {"has space", "a/b", "semi;colon", "quote\\\"", "caf\u00e9", ""}) {
        const std::string message =
            rejection(std::string(R"({"task":"t","task_id":")") + id + "\"}");
        EXPECT_TRUE(contains(
            message,
            "task_id must be 1..128 characters of A-Z a-z 0-9 - _ . :, not only dots (got"))
            << message;
    }
}

// Regression: "." and ".." were accepted (202 with Location /api/v1/tasks/..), and the task
// could never be read again: the path normalises them away.
TEST_F(TaskRequestTest, RejectsATaskIdOfOnlyDots) {
    for (const char *id : {".", "..", "..."})
        EXPECT_TRUE(contains(rejection(std::string(R"({"task":"t","task_id":")") + id + "\"}"),
                             "not only dots"))
            << id;
    for (const char *id : {".a", "a..b", "..x", "v1.2"})
        EXPECT_EQ(parse(std::string(R"({"task":"t","task_id":")") + id + "\"}").task_id, id);
}

TEST_F(TaskRequestTest, RejectsATaskIdThatIsTooLong) {
    const std::string id(max_task_id_length + 1, 'i');
    const std::string message = rejection(R"({"task":"t","task_id":")" + id + "\"}");
    EXPECT_TRUE(contains(message, "task_id must be 1..128 characters")) << message;
}

TEST_F(TaskRequestTest, RejectsATaskIdThatIsNotAString) {
    EXPECT_EQ(rejection(R"({"task":"t","task_id":7})"), "task_id must be a string (got 7)");
}

TEST_F(TaskRequestTest, RejectsAnUnknownPriorityListingTheAllowedValues) {
    EXPECT_EQ(rejection(R"({"task":"t","priority":"urgent"})"),
              "priority must be one of low, normal, high, critical (got \"urgent\")");
    EXPECT_EQ(rejection(R"({"task":"t","priority":"HIGH"})"),
              "priority must be one of low, normal, high, critical (got \"HIGH\")");
    EXPECT_EQ(rejection(R"({"task":"t","priority":""})"),
              "priority must be one of low, normal, high, critical (got \"\")");
}

TEST_F(TaskRequestTest, RejectsAPriorityThatIsNotAString) {
    EXPECT_EQ(rejection(R"({"task":"t","priority":3})"), "priority must be a string (got 3)");
}

TEST_F(TaskRequestTest, RejectsAnUnknownTopLevelField) {
    EXPECT_EQ(
        rejection(R"({"task":"t","prority":"high"})"),
        "unknown field \"prority\" (a task request accepts task, task_id, priority, metadata, "
        "context, callback_url)");
}

TEST_F(TaskRequestTest, RejectsMetadataThatIsNotAnObject) {
    EXPECT_EQ(rejection(R"({"task":"t","metadata":"note"})"),
              "metadata must be an object (got \"note\")");
    EXPECT_EQ(rejection(R"({"task":"t","metadata":[1]})"),
              "metadata must be an object (got an array)");
    EXPECT_EQ(rejection(R"({"task":"t","metadata":1})"), "metadata must be an object (got 1)");
}

TEST_F(TaskRequestTest, RejectsMetadataThatIsTooLarge) {
    const std::string big(max_metadata_bytes, 'm');
    EXPECT_EQ(rejection(R"({"task":"t","metadata":{"k":")" + big + "\"}}"),
              "metadata must be at most 65536 bytes as JSON");
}

TEST_F(TaskRequestTest, RejectsAContextThatIsNotAnObject) {
    EXPECT_EQ(context_rejection(R"("here")"), "context must be an object (got \"here\")");
    EXPECT_EQ(context_rejection("[]"), "context must be an object (got an array)");
}

TEST_F(TaskRequestTest, RejectsAnUnknownContextField) {
    EXPECT_EQ(context_rejection(R"({"timeout":5})"),
              "unknown field \"context.timeout\" (context accepts working_directory, environment, "
              "tools, constraints)");
}

TEST_F(TaskRequestTest, RejectsConstraintsThatAreNotAnObjectOrHaveUnknownFields) {
    EXPECT_EQ(context_rejection(R"({"constraints":[]})"),
              "context.constraints must be an object (got an array)");
    EXPECT_EQ(context_rejection(R"({"constraints":{"max_memory":5}})"),
              "unknown field \"context.constraints.max_memory\" (context.constraints accepts "
              "max_execution_time, max_steps, max_tokens, allowed_paths)");
}

TEST_F(TaskRequestTest, RejectsToolsThatAreNotAnArray) {
    EXPECT_EQ(context_rejection(R"({"tools":"read_file"})"),
              "context.tools must be an array of tool names (got \"read_file\")");
    EXPECT_EQ(context_rejection(R"({"tools":{}})"),
              "context.tools must be an array of tool names (got an object)");
}

TEST_F(TaskRequestTest, RejectsAToolNameThatIsNotAString) {
    EXPECT_EQ(context_rejection(R"({"tools":["read_file", 1]})"),
              "context.tools[1] must be a string (got 1)");
}

TEST_F(TaskRequestTest, RejectsAnUnknownToolListingTheKnownOnes) {
    EXPECT_EQ(context_rejection(R"({"tools":["read_file","delete_file"]})"),
              "context.tools[1] must be one of read_file, write_file, list_files, run_command (got "
              "\"delete_file\")");
}

TEST_F(TaskRequestTest, RejectsACommandToolWhenCommandsAreDisabled) {
    load({"", "enable_command_execution = false;", ""});
    EXPECT_EQ(context_rejection(R"({"tools":["run_command"]})"),
              "context.tools[0]: run_command is disabled on this server "
              "(tools.enable_command_execution is false)");
    EXPECT_NO_THROW(parse(R"({"task":"t","context":{"tools":["read_file"]}})"));
}

TEST_F(TaskRequestTest, RejectsAFileToolWhenFileOperationsAreDisabled) {
    load({"", "enable_file_operations = false;", ""});
    EXPECT_EQ(context_rejection(R"({"tools":["run_command","write_file"]})"),
              "context.tools[1]: write_file is disabled on this server "
              "(tools.enable_file_operations is false)");
}

TEST_F(TaskRequestTest, RejectsAnEnvironmentThatIsNotAnObject) {
    EXPECT_EQ(context_rejection(R"({"environment":["A=1"]})"),
              "context.environment must be an object of string values (got an array)");
}

TEST_F(TaskRequestTest, RejectsANonStringEnvironmentValue) {
    EXPECT_EQ(context_rejection(R"({"environment":{"COUNT":1}})"),
              "context.environment.COUNT must be a string (got 1)");
    EXPECT_EQ(context_rejection(R"({"environment":{"FLAG":null}})"),
              "context.environment.FLAG must be a string (got null)");
}

TEST_F(TaskRequestTest, RejectsABadEnvironmentVariableName) {
    for (const char *name : {"1ABC", "A-B", "A B", "A=B", "", "\u00e9"}) {
        const std::string message =
            context_rejection(std::string(R"({"environment":{")") + name + R"(":"v"}})");
        EXPECT_EQ(message, std::string("context.environment: \"") + name +
                               "\" is not a variable name (letters, digits and _, not starting "
                               "with a digit)");
    }
}

TEST_F(TaskRequestTest, RejectsDynamicLoaderVariables) {
    EXPECT_EQ(context_rejection(R"({"environment":{"LD_PRELOAD":"/tmp/evil.so"}})"),
              "context.environment: LD_PRELOAD may not be set (LD_* variables are refused)");
    EXPECT_EQ(context_rejection(R"({"environment":{"LD_LIBRARY_PATH":"/tmp"}})"),
              "context.environment: LD_LIBRARY_PATH may not be set (LD_* variables are refused)");
}

TEST_F(TaskRequestTest, RejectsTooManyEnvironmentVariables) {
    std::string environment = "{";
    for (std::size_t i = 0; i <= max_environment_entries; ++i)
        environment += (i ? ",\"V" : "\"V") + std::to_string(i) + "\":\"x\"";
    environment += "}";
    EXPECT_EQ(context_rejection(R"({"environment":)" + environment + "}"),
              "context.environment may hold at most 64 variables (got 65)");
}

TEST_F(TaskRequestTest, RejectsAnEnvironmentValueThatIsTooLong) {
    const std::string value(max_environment_value_bytes + 1, 'v');
    EXPECT_EQ(context_rejection(R"({"environment":{"BIG":")" + value + "\"}}"),
              "context.environment.BIG must be at most 4096 bytes");
}

TEST_F(TaskRequestTest, RejectsAMaxExecutionTimeAboveTheServersLimitOrZero) {
    EXPECT_EQ(context_rejection(R"({"constraints":{"max_execution_time":301}})"),
              "context.constraints.max_execution_time must be an integer 1..300 seconds (this "
              "server's execution.timeout_seconds) (got 301)");
    EXPECT_EQ(context_rejection(R"({"constraints":{"max_execution_time":0}})"),
              "context.constraints.max_execution_time must be an integer 1..300 seconds (this "
              "server's execution.timeout_seconds) (got 0)");
    EXPECT_TRUE(
        contains(context_rejection(R"({"constraints":{"max_execution_time":-5}})"), "(got -5)"));
}

TEST_F(TaskRequestTest, RejectsAMaxExecutionTimeThatIsNotAnInteger) {
    EXPECT_TRUE(contains(context_rejection(R"({"constraints":{"max_execution_time":"60"}})"),
                         "context.constraints.max_execution_time must be an integer 1..300"));
    EXPECT_TRUE(contains(context_rejection(R"({"constraints":{"max_execution_time":1.5}})"),
                         "(got a number)"));
}

TEST_F(TaskRequestTest, RejectsMaxStepsAboveTheServersMaximumOrZero) {
    EXPECT_EQ(context_rejection(R"({"constraints":{"max_steps":11}})"),
              "context.constraints.max_steps must be an integer 1..10 (this server's "
              "execution.max_steps) (got 11)");
    EXPECT_EQ(context_rejection(R"({"constraints":{"max_steps":0}})"),
              "context.constraints.max_steps must be an integer 1..10 (this server's "
              "execution.max_steps) (got 0)");
}

TEST_F(TaskRequestTest, RejectsAllowedPathsOutsideTheServers) {
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":["/etc"]}})"),
              "context.constraints.allowed_paths[0]: path \"/etc\" is outside the allowed paths");
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":[".", ".."]}})"),
              "context.constraints.allowed_paths[1]: path \"..\" is outside the allowed paths");
}

TEST_F(TaskRequestTest, RejectsAllowedPathsThatAreNotANonEmptyArray) {
    EXPECT_EQ(
        context_rejection(R"({"constraints":{"allowed_paths":"."}})"),
        "context.constraints.allowed_paths must be a non-empty array of directories (got \".\")");
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":[]}})"),
              "context.constraints.allowed_paths must be a non-empty array of directories (got an "
              "array)");
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":[1]}})"),
              "context.constraints.allowed_paths[0] must be a string (got 1)");
}

TEST_F(TaskRequestTest, RejectsAllowedPathsThatAreMissing) {
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":["missing"]}})"),
              "context.constraints.allowed_paths[0]: path \"missing\" does not exist");
}

// Regression: the "must be a directory" rejection was thrown inside the try that prefixes
// resolve_path's errors, so the message named the field twice:
// "context.constraints.allowed_paths[0]: context.constraints.allowed_paths[0] must be ...".
TEST_F(TaskRequestTest, RejectsAnAllowedPathThatIsAFileNamingTheFieldOnce) {
    dir_.write("work/file.txt", "x");
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":["file.txt"]}})"),
              "context.constraints.allowed_paths[0] must be a directory (got \"file.txt\")");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryOutsideTheAllowedPaths) {
    EXPECT_EQ(context_rejection(R"({"working_directory":"/etc"})"),
              "context.working_directory: path \"/etc\" is outside the allowed paths");
    EXPECT_EQ(context_rejection(R"({"working_directory":"/"})"),
              "context.working_directory: path \"/\" is outside the allowed paths");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryOutsideTheAllowedPathsThroughDotDot) {
    dir_.make_dir("work/sub");
    EXPECT_EQ(context_rejection(R"({"working_directory":".."})"),
              "context.working_directory: path \"..\" is outside the allowed paths");
    EXPECT_EQ(context_rejection(R"({"working_directory":"sub/../../"})"),
              "context.working_directory: path \"sub/../../\" is outside the allowed paths");
    EXPECT_EQ(
        context_rejection(R"({"working_directory":)" + quoted(work_ + "/../work/../..") + "}"),
        "context.working_directory: path \"" + work_ +
            "/../work/../..\" is outside the allowed paths");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryThroughASymlinkLeadingOutside) {
    std::filesystem::create_symlink("/etc", work_ + "/etc_link");
    EXPECT_EQ(context_rejection(R"({"working_directory":"etc_link"})"),
              "context.working_directory: path \"etc_link\" is outside the allowed paths");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryOutsideTheTasksOwnAllowedPaths) {
    const std::string a = dir_.make_dir("work/a");
    dir_.make_dir("work/b");
    EXPECT_EQ(context_rejection(R"({"working_directory":"b","constraints":{"allowed_paths":[)" +
                                quoted(a) + "]}}"),
              "context.working_directory: path \"b\" is outside the allowed paths");
    // Without its own working directory, the task's default "." must lie inside them too.
    EXPECT_EQ(context_rejection(R"({"constraints":{"allowed_paths":["a"]}})"),
              "context.working_directory: path \".\" is outside the allowed paths");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryThatDoesNotExist) {
    EXPECT_EQ(context_rejection(R"({"working_directory":"missing"})"),
              "context.working_directory: path \"missing\" does not exist");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryThatIsAFile) {
    dir_.write("work/file.txt", "x");
    EXPECT_EQ(context_rejection(R"({"working_directory":"file.txt"})"),
              "context.working_directory must be a directory (got \"file.txt\")");
}

TEST_F(TaskRequestTest, RejectsAWorkingDirectoryThatIsNotAString) {
    EXPECT_EQ(context_rejection(R"({"working_directory":5})"),
              "context.working_directory must be a string (got 5)");
}

TEST_F(TaskRequestTest, ResolvesARelativeWorkingDirectoryAgainstTheServers) {
    const std::string sub = dir_.make_dir("work/sub");
    const TaskRequest request = parse(R"({"task":"t","context":{"working_directory":"sub"}})");
    EXPECT_EQ(resolve_task_context(request.context.get(), config_, "").working_directory, sub);
}

TEST_F(TaskRequestTest, KeepsTheContextAsGivenForTheRunner) {
    const TaskRequest request = parse(R"({"task":"t","context":{"tools":["read_file"]}})");
    EXPECT_EQ(dump_json(request.context.get()), R"({"tools":["read_file"]})");
}

TEST_F(TaskRequestTest, ContextDefaultsComeFromTheConfiguration) {
    load({"max_steps = 7;", "", "default_task_timeout = 120;"});
    const TaskContext context = resolve_task_context(nullptr, config_, "");
    EXPECT_EQ(context.timeout_seconds, 120); // service.default_task_timeout, not the 300 ceiling
    EXPECT_EQ(context.max_steps, 7);
    EXPECT_EQ(context.tools,
              (std::vector<std::string>{"read_file", "write_file", "list_files", "run_command"}));
    EXPECT_EQ(context.working_directory, work_);
    EXPECT_EQ(context.allowed_paths, std::vector<std::string>{work_});
    EXPECT_TRUE(context.environment.empty());
}

TEST_F(TaskRequestTest, ContextDefaultsForAJsonNullContext) {
    const JsonPtr null_context(json_null());
    const TaskContext context = resolve_task_context(null_context.get(), config_, "");
    EXPECT_EQ(context.working_directory, work_);
    EXPECT_EQ(context.timeout_seconds, config_.service.default_task_timeout);
}

TEST_F(TaskRequestTest, DefaultToolsAreOnlyTheEnabledOnes) {
    load({"", "enable_command_execution = false;", ""});
    EXPECT_EQ(resolve_task_context(nullptr, config_, "").tools,
              (std::vector<std::string>{"read_file", "write_file", "list_files"}));
    load({"", "enable_file_operations = false;", ""});
    EXPECT_EQ(resolve_task_context(nullptr, config_, "").tools,
              std::vector<std::string>{"run_command"});
}

TEST_F(TaskRequestTest, AnEmptyContextKeepsTheDefaults) {
    const JsonPtr context_json = parse_json("{}");
    const TaskContext context = resolve_task_context(context_json.get(), config_, "");
    EXPECT_EQ(context.max_steps, config_.execution.max_steps);
    EXPECT_EQ(context.tools.size(), 4u);
}

TEST_F(TaskRequestTest, RepeatedToolNamesAreListedOnce) {
    const JsonPtr context_json = parse_json(R"({"tools":["read_file","read_file","list_files"]})");
    EXPECT_EQ(resolve_task_context(context_json.get(), config_, "").tools,
              (std::vector<std::string>{"read_file", "list_files"}));
}

TEST_F(TaskRequestTest, ResolvingAStoredContextAppliesTheCurrentConfiguration) {
    // Accepted under the old limits, refused when the runner resolves it under lower ones.
    const TaskRequest request = parse(R"({"task":"t","context":{"constraints":{"max_steps":10}}})");
    load({"max_steps = 5;", "", ""});
    try {
        resolve_task_context(request.context.get(), config_, "");
        FAIL() << "a stored context wider than the configuration was accepted";
    } catch (const Error &e) {
        EXPECT_TRUE(contains(e.what(), "context.constraints.max_steps must be an integer 1..5"))
            << e.what();
    }
}

// Read and write grants apart.

TEST_F(TaskRequestTest, TheWorkingDirectoryIsTheOneWritablePlaceUnlessConfigured) {
    EXPECT_EQ(resolve_task_context(nullptr, config_, "").writable_paths,
              std::vector<std::string>{work_});
    const std::string out = dir_.make_dir("work/out");
    load({"", "writable_paths = [\"work/out\"];", ""});
    const TaskContext context = resolve_task_context(nullptr, config_, "");
    EXPECT_EQ(context.writable_paths, std::vector<std::string>{out});
    EXPECT_EQ(context.allowed_paths, std::vector<std::string>{work_}); // out is inside: one root
    load({"", "writable_paths = [];", ""});
    EXPECT_TRUE(resolve_task_context(nullptr, config_, "").writable_paths.empty());
}

TEST_F(TaskRequestTest, NarrowedReadingNarrowsWritingToo) {
    const std::string src = dir_.make_dir("work/src");
    const JsonPtr narrowed =
        parse_json(R"({"working_directory":"src","constraints":{"allowed_paths":["src"]}})");
    const TaskContext context = resolve_task_context(narrowed.get(), config_, "");
    EXPECT_EQ(context.allowed_paths, std::vector<std::string>{src});
    EXPECT_EQ(context.writable_paths, std::vector<std::string>{src}); // not all of work/
    const std::string out = dir_.make_dir("work/out");
    load({"", "writable_paths = [\"work/out\"];", ""});
    EXPECT_TRUE(resolve_task_context(narrowed.get(), config_, "").writable_paths.empty());
}

// Per-owner workspaces (service.require_api_key).

class OwnerWorkspaceTest : public TaskRequestTest {
protected:
    void SetUp() override {
        dir_.make_dir("shared");
        dir_.make_dir("reference");
        dir_.make_dir("work");
        config_ = test::write_and_load_config(
            dir_,
            "tools = { working_directory = \"work\"; allowed_paths = [\"work\", \"reference\"];\n"
            "    shared_directories = [\"alice:shared\"]; sandbox = \"none\"; };\n"
            "service = { require_api_key = true; };\n"
            "storage = { database = \"data/tasks.db\"; };\n");
        work_ = dir_ / "work";
    }
};

TEST_F(OwnerWorkspaceTest, EachOwnerWorksInItsOwnDirectoryMadeOnFirstUse) {
    EXPECT_FALSE(test::exists(work_ + "/bob"));
    const TaskContext bob = resolve_task_context(nullptr, config_, "bob");
    EXPECT_EQ(bob.working_directory, work_ + "/bob");
    EXPECT_EQ(bob.writable_paths, std::vector<std::string>{work_ + "/bob"});
    // The workspace root itself is not among what bob reads; a reference outside it is.
    EXPECT_EQ(bob.allowed_paths, (std::vector<std::string>{work_ + "/bob", dir_ / "reference"}));
}

TEST_F(OwnerWorkspaceTest, AnotherOwnersWorkspaceIsOutsideTheGrants) {
    resolve_task_context(nullptr, config_, "alice");
    for (const char *directory : {"../alice", "..", "/"}) {
        const JsonPtr context =
            parse_json(std::string(R"({"working_directory":")") + directory + "\"}");
        EXPECT_THROW(resolve_task_context(context.get(), config_, "bob"), Error) << directory;
    }
    const JsonPtr widened = parse_json(R"({"constraints":{"allowed_paths":["../alice"]}})");
    EXPECT_THROW(resolve_task_context(widened.get(), config_, "bob"), Error);
}

TEST_F(OwnerWorkspaceTest, ASharedDirectoryIsGrantedToItsOwnerOnly) {
    const TaskContext alice = resolve_task_context(nullptr, config_, "alice");
    EXPECT_TRUE(is_within_any(dir_ / "shared/x", alice.writable_paths));
    const TaskContext bob = resolve_task_context(nullptr, config_, "bob");
    EXPECT_FALSE(is_within_any(dir_ / "shared/x", bob.allowed_paths));
}

TEST_F(OwnerWorkspaceTest, WithoutAnOwnerOrWithoutKeysTheServersGrantsApply) {
    EXPECT_EQ(resolve_task_context(nullptr, config_, "").working_directory, work_);
    config_.service.require_api_key = false;
    EXPECT_EQ(resolve_task_context(nullptr, config_, "alice").working_directory, work_);
}

TEST_F(OwnerWorkspaceTest, AnOwnerThatCannotNameADirectoryIsRefused) {
    for (const char *owner : {".", "..", "a/b"})
        EXPECT_THROW(resolve_task_context(nullptr, config_, owner), Error) << owner;
    EXPECT_FALSE(test::exists(work_ + "/a"));
}

} // namespace
} // namespace tr
