// cli/tasks_file: the tasks file of `task-runner submit` (both formats), the ids it gives each
// task, the lines its errors name, and the lines of a JSON file's tasks.
#include "cli/tasks_file.h"

#include "cli/usage_error.h"
#include "core/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace tr::cli {
namespace {

std::string id_of(const FileTask &task) {
    return json_string_value(json_object_get(task.request.get(), "task_id"));
}

std::string error_of(std::string_view content,
                     const std::optional<std::string> &prefix = std::nullopt) {
    try {
        parse_tasks_file("t.tasks", content, prefix);
    } catch (const InputError &e) {
        return e.what();
    } catch (const UsageError &e) {
        return std::string("usage: ") + e.what();
    }
    return "";
}

TEST(TasksFile, OneTaskPerLineSkipsBlankAndCommentLinesAndKeepsTheirLines) {
    const std::string content = "# nightly\n\n  list the files in .  \n\t\nrun the command: date\n";
    const TasksFile file = parse_tasks_file("t.tasks", content, std::nullopt);
    ASSERT_EQ(file.tasks.size(), 2u);
    EXPECT_STREQ(json_string_value(json_object_get(file.tasks[0].request.get(), "task")),
                 "list the files in .");
    EXPECT_EQ(file.tasks[0].line, 3);
    EXPECT_EQ(file.tasks[1].line, 5);
    const std::string prefix = sha256_hex(content).substr(0, 16);
    EXPECT_EQ(id_of(file.tasks[0]), prefix + "-1");
    EXPECT_EQ(id_of(file.tasks[1]), prefix + "-2");
}

TEST(TasksFile, TheSameBytesGiveTheSameIdsAndOtherBytesOthers) {
    const TasksFile a = parse_tasks_file("a", "list the files in .\n", std::nullopt);
    const TasksFile b = parse_tasks_file("b", "list the files in .\n", std::nullopt);
    const TasksFile c = parse_tasks_file("c", "list the files in ..\n", std::nullopt);
    EXPECT_EQ(id_of(a.tasks[0]), id_of(b.tasks[0]));
    EXPECT_NE(id_of(a.tasks[0]), id_of(c.tasks[0]));
}

// Task ids are global on a server: two keys' identical files must not name the same tasks (one
// would be refused, and could learn the other had submitted that file).
TEST(TasksFile, TheSameBytesFromAnotherKeyGiveOtherIds) {
    const std::string content = "list the files in .\n";
    const TasksFile alice = parse_tasks_file("a", content, std::nullopt, "trk_alice_secret");
    const TasksFile again = parse_tasks_file("a", content, std::nullopt, "trk_alice_secret");
    const TasksFile bob = parse_tasks_file("a", content, std::nullopt, "trk_bob_secret");
    const TasksFile none = parse_tasks_file("a", content, std::nullopt);
    EXPECT_EQ(id_of(alice.tasks[0]), id_of(again.tasks[0]));
    EXPECT_NE(id_of(alice.tasks[0]), id_of(bob.tasks[0]));
    EXPECT_NE(id_of(alice.tasks[0]), id_of(none.tasks[0]));
    EXPECT_EQ(alice.content_hash, none.content_hash); // the lock of stdin is the content's
    EXPECT_EQ(id_of(none.tasks[0]), none.content_hash.substr(0, 16) + "-1");
    EXPECT_EQ(id_of(alice.tasks[0]).find("alice"), std::string::npos);
}

TEST(TasksFile, AnIdPrefixReplacesTheHashAndAGivenTaskIdIsKept) {
    const std::string content =
        "{\"tasks\": [{\"task\": \"a\"}, {\"task\": \"b\", \"task_id\": "
        "\"mine\"}], \"mode\": \"sequential\", \"continue_on_error\": true}";
    const TasksFile file = parse_tasks_file("t.json", content, std::string("nightly-2026-12-01"));
    EXPECT_EQ(id_of(file.tasks[0]), "nightly-2026-12-01-1");
    EXPECT_EQ(id_of(file.tasks[1]), "mine");
    EXPECT_EQ(file.mode, "sequential");
    EXPECT_EQ(file.continue_on_error, true);
}

TEST(TasksFile, ErrorsNameTheFileAndTheLine) {
    EXPECT_EQ(error_of("{\"tasks\": [\n  {\"task\": \"a\"},\n  {\"task\": 5}\n]}"),
              "t.tasks:3: tasks[1] must be an object with a \"task\" string, {\"task\": \"...\"}");
    EXPECT_EQ(error_of("{\"tasks\": [\n  {\"task\": \"a\"}\n  {\"task\": \"b\"}\n]}").substr(0, 10),
              "t.tasks:3:");
    EXPECT_EQ(error_of("{\"tasks\": [{\"task\": \"a\"}], \"tasks\": []}").substr(0, 10),
              "t.tasks:1:"); // duplicate keys are refused, not silently merged
    EXPECT_EQ(error_of("\n# only a comment\n"),
              "t.tasks:1: no tasks (one per line, or {\"tasks\": [...]}; blank and # lines are "
              "skipped)");
    EXPECT_EQ(error_of("a\nb\na\n", std::string("p")), "")
        << "the same text twice is two tasks: positions give distinct ids";
    EXPECT_EQ(error_of("{\"tasks\": [{\"task\": \"a\", \"task_id\": \"x\"},\n{\"task\": \"b\", "
                       "\"task_id\": \"x\"}]}"),
              "t.tasks:2: task_id \"x\" is given twice in this file");
    EXPECT_EQ(error_of("line \xff\n"), "t.tasks:1: the line is not valid UTF-8");
    std::string many;
    for (int i = 0; i < 101; ++i)
        many += "list the files in .\n";
    EXPECT_EQ(error_of(many).substr(0, 12), "t.tasks:101:");
}

TEST(TasksFile, AnIdPrefixMustMakeValidIds) {
    EXPECT_EQ(error_of("a\n", std::string("has space")).substr(0, 6), "usage:");
    EXPECT_EQ(error_of("a\n", std::string("")).substr(0, 6), "usage:");
    EXPECT_EQ(error_of("a\n", std::string(101, 'x')).substr(0, 6), "usage:");
    EXPECT_EQ(error_of("a\n", std::string("ok.prefix:1_2-3")), "");
}

TEST(TasksFile, ElementLinesFollowOnlyTheTopLevelTasksArray) {
    const std::string content =
        "{\n"
        "  \"other\": [1,\n 2],\n"
        "  \"tasks\": [\n"
        "    {\"task\": \"a [\\\"quoted\\\"], {x}\", \"metadata\": {\"tasks\": [9]}},\n"
        "\n"
        "    {\"task\": \"b\"}, {\"task\": \"c\"}\n"
        "  ]\n"
        "}\n";
    EXPECT_EQ(task_element_lines(content), (std::vector<int>{5, 7, 7}));
}

TEST(TasksFile, ServerMessagesNamingATaskGiveItsLine) {
    const TasksFile file = parse_tasks_file("t", "\na\n\nb\n", std::nullopt);
    EXPECT_EQ(line_of_task_message(file, "INVALID_REQUEST: tasks[1]: priority must be"), 4);
    EXPECT_EQ(line_of_task_message(file, "tasks[0]: x"), 2);
    EXPECT_EQ(line_of_task_message(file, "tasks[2]: beyond the file"), std::nullopt);
    EXPECT_EQ(line_of_task_message(file, "tasks[x]"), std::nullopt);
    EXPECT_EQ(line_of_task_message(file, "no task named"), std::nullopt);
}

TEST(TasksFile, AJsonTaskBecomesTheLibrarysRequestFieldForField) {
    const TasksFile file = parse_tasks_file(
        "t.json",
        "{\"tasks\": [{\"task\": \"a\", \"priority\": \"high\", \"metadata\": {\"k\": [1]},\n"
        "\"context\": {\"working_directory\": \"/w\", \"environment\": {\"V\": \"1\"}, \"tools\": "
        "[\"read_file\"], \"constraints\": {\"max_steps\": 3, \"max_execution_time\": 60, "
        "\"max_tokens\": 900, \"allowed_paths\": [\"/w\"]}}}]}",
        std::string("p"));
    const task_runner::TaskRequest request = library_request(file, file.tasks[0]);
    EXPECT_EQ(request.task, "a");
    EXPECT_EQ(request.task_id, "p-1");
    EXPECT_EQ(request.priority, "high");
    EXPECT_EQ(request.metadata_json, "{\"k\":[1]}");
    ASSERT_TRUE(request.context.has_value());
    EXPECT_EQ(request.context->working_directory, "/w");
    EXPECT_EQ(request.context->environment.at("V"), "1");
    EXPECT_EQ(request.context->tools, std::vector<std::string>{"read_file"});
    EXPECT_EQ(request.context->constraints.max_steps, 3);
    EXPECT_EQ(request.context->constraints.max_execution_time, 60);
    EXPECT_EQ(request.context->constraints.max_tokens, 900);
    EXPECT_EQ(request.context->constraints.allowed_paths, std::vector<std::string>{"/w"});
}

TEST(TasksFile, WhatTheLibraryCannotSendAsWrittenIsRefusedWithItsLine) {
    const auto refusal = [](const std::string &task) -> std::string {
        const TasksFile file =
            parse_tasks_file("t.json", "{\"tasks\": [\n" + task + "\n]}", std::nullopt);
        try {
            library_request(file, file.tasks[0]);
        } catch (const InputError &e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(refusal("{\"task\": \"a\", \"tools\": []}"),
              "t.json:2: tasks[0]: unknown field \"tools\"");
    // Left out, an empty list would give the task every tool: never silently.
    EXPECT_EQ(refusal("{\"task\": \"a\", \"context\": {\"tools\": []}}"),
              "t.json:2: tasks[0]: context.tools must be a non-empty list of strings (leave it out "
              "for the server's)");
    EXPECT_EQ(refusal("{\"task\": \"a\", \"context\": {\"constraints\": {\"allowed_paths\": []}}}")
                  .substr(0, 55),
              "t.json:2: tasks[0]: context.constraints.allowed_paths m");
    EXPECT_EQ(refusal("{\"task\": \"a\", \"context\": {\"constraints\": {\"max_steps\": 1.5}}}"),
              "t.json:2: tasks[0]: context.constraints.max_steps must be a whole number");
    EXPECT_EQ(refusal("{\"task\": \"a\", \"priority\": 3}"),
              "t.json:2: tasks[0]: priority must be a string");
    EXPECT_EQ(refusal("{\"task\": \"a\", \"context\": {\"environment\": {\"V\": 1}}}"),
              "t.json:2: tasks[0]: context.environment.V must be a string");
    EXPECT_EQ(refusal("{\"task\": \"a\", \"context\": {\"sandbox\": \"none\"}}"),
              "t.json:2: tasks[0]: unknown field \"context.sandbox\"");
}

} // namespace
} // namespace tr::cli
