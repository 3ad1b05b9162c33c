// runner/providers/builtin_parser: the offline planner's reading of plain English and Chinese
// tasks into tool calls, deterministic and without any network.
#include "runner/providers/builtin_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace tr::runner {
namespace {

std::string argument(const BuiltinAction &action, const char *name) {
    const json_t *value = json_object_get(action.arguments.get(), name);
    if (!json_is_string(value))
        return "(not a string)";
    return json_string_value(value);
}

bool flag(const BuiltinAction &action, const char *name) {
    return json_is_true(json_object_get(action.arguments.get(), name));
}

// Parses a task that must be understood as exactly one action.
BuiltinAction only_action(const std::string &task, bool expect_summary = false) {
    std::optional<BuiltinTask> parsed = parse_builtin_task(task);
    if (!parsed) {
        ADD_FAILURE() << "not understood: " << task;
        return {};
    }
    EXPECT_EQ(parsed->summarize, expect_summary) << task;
    if (parsed->actions.size() != 1) {
        ADD_FAILURE() << parsed->actions.size() << " actions for: " << task;
        return {};
    }
    return std::move(parsed->actions.front());
}

TEST(BuiltinParser, ReadsAFileInEnglish) {
    const BuiltinAction action = only_action("read the file README.md");
    EXPECT_EQ(action.tool, "read_file");
    EXPECT_EQ(argument(action, "path"), "README.md");
    EXPECT_EQ(action.description, "read README.md");
}

TEST(BuiltinParser, ReadsAndSummarizesAFileInEnglish) {
    const BuiltinAction action = only_action("Read README.md and summarize it", true);
    EXPECT_EQ(action.tool, "read_file");
    EXPECT_EQ(argument(action, "path"), "README.md");
}

TEST(BuiltinParser, ReadsAndSummarizesAFileInChinese) {
    const BuiltinAction action = only_action("读取README.md文件并总结内容", true);
    EXPECT_EQ(action.tool, "read_file");
    EXPECT_EQ(argument(action, "path"), "README.md");
}

TEST(BuiltinParser, ReadsAFileInChineseWithoutSummary) {
    const BuiltinAction action = only_action("读取README.md文件");
    EXPECT_EQ(action.tool, "read_file");
    EXPECT_EQ(argument(action, "path"), "README.md");
}

TEST(BuiltinParser, ReadsAQuotedPathWithSpaces) {
    const BuiltinAction action = only_action("read the file \"my notes.txt\"");
    EXPECT_EQ(argument(action, "path"), "my notes.txt");
}

TEST(BuiltinParser, SummarizeAloneReadsWithSummary) {
    const BuiltinAction action = only_action("summarize notes.txt", true);
    EXPECT_EQ(action.tool, "read_file");
    EXPECT_EQ(argument(action, "path"), "notes.txt");
}

TEST(BuiltinParser, ListsADirectoryInEnglish) {
    const BuiltinAction action = only_action("list the files in src");
    EXPECT_EQ(action.tool, "list_files");
    EXPECT_EQ(argument(action, "path"), "src");
    EXPECT_FALSE(flag(action, "recursive"));
}

TEST(BuiltinParser, ListsTheCurrentDirectoryWhenNoneIsNamed) {
    const BuiltinAction action = only_action("list files");
    EXPECT_EQ(action.tool, "list_files");
    EXPECT_EQ(argument(action, "path"), ".");
    EXPECT_EQ(argument(only_action("list the files in the current directory"), "path"), ".");
}

TEST(BuiltinParser, ListsRecursivelyWhenAsked) {
    const BuiltinAction action = only_action("list the files in src recursively");
    EXPECT_EQ(argument(action, "path"), "src");
    EXPECT_TRUE(flag(action, "recursive"));
}

TEST(BuiltinParser, ListsADirectoryInChinese) {
    const BuiltinAction action = only_action("列出src目录中的文件");
    EXPECT_EQ(action.tool, "list_files");
    EXPECT_EQ(argument(action, "path"), "src");
}

TEST(BuiltinParser, ListsTheCurrentDirectoryInChinese) {
    const BuiltinAction action = only_action("列出当前目录的文件");
    EXPECT_EQ(action.tool, "list_files");
    EXPECT_EQ(argument(action, "path"), ".");
}

TEST(BuiltinParser, WritesQuotedTextToAFile) {
    const BuiltinAction action = only_action("write 'hello' to out.txt");
    EXPECT_EQ(action.tool, "write_file");
    EXPECT_EQ(argument(action, "path"), "out.txt");
    EXPECT_EQ(argument(action, "content"), "hello");
    EXPECT_FALSE(flag(action, "append"));
}

TEST(BuiltinParser, KeepsThenInsideQuotedTextToWrite) {
    const std::optional<BuiltinTask> parsed = parse_builtin_task("write \"a then b\" to x.txt");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 1u); // not split at "then"
    EXPECT_EQ(argument(parsed->actions[0], "content"), "a then b");
    EXPECT_EQ(argument(parsed->actions[0], "path"), "x.txt");
}

TEST(BuiltinParser, WritesTextToAFileInChinese) {
    const BuiltinAction action = only_action("将'hello'写入out.txt");
    EXPECT_EQ(action.tool, "write_file");
    EXPECT_EQ(argument(action, "path"), "out.txt");
    EXPECT_EQ(argument(action, "content"), "hello");
    EXPECT_FALSE(flag(action, "append"));
}

TEST(BuiltinParser, AppendsTextToAFile) {
    const BuiltinAction action = only_action("append 'x' to log.txt");
    EXPECT_EQ(action.tool, "write_file");
    EXPECT_EQ(argument(action, "path"), "log.txt");
    EXPECT_EQ(argument(action, "content"), "x");
    EXPECT_TRUE(flag(action, "append"));
    EXPECT_EQ(action.description, "append to log.txt");
}

TEST(BuiltinParser, RunsACommand) {
    const BuiltinAction action = only_action("run the command: ls -la");
    EXPECT_EQ(action.tool, "run_command");
    EXPECT_EQ(argument(action, "command"), "ls -la");
}

TEST(BuiltinParser, RunsACommandInChineseWithAFullWidthColon) {
    const BuiltinAction action = only_action("运行命令：ls -la");
    EXPECT_EQ(action.tool, "run_command");
    EXPECT_EQ(argument(action, "command"), "ls -la");
}

TEST(BuiltinParser, ACommandTakesTheWholeRestOfTheTask) {
    const BuiltinAction action = only_action("run the command: echo a; echo b then c");
    EXPECT_EQ(action.tool, "run_command");
    EXPECT_EQ(argument(action, "command"), "echo a; echo b then c");
}

TEST(BuiltinParser, ACommandKeepsATrailingAndSummarize) {
    const BuiltinAction action = only_action("run the command: echo read and summarize it");
    EXPECT_EQ(argument(action, "command"), "echo read and summarize it");
}

TEST(BuiltinParser, ChainsClausesInOrder) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("list the files in src, then read src/a.txt");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u);
    EXPECT_EQ(parsed->actions[0].tool, "list_files");
    EXPECT_EQ(argument(parsed->actions[0], "path"), "src");
    EXPECT_EQ(parsed->actions[1].tool, "read_file");
    EXPECT_EQ(argument(parsed->actions[1], "path"), "src/a.txt");
    EXPECT_FALSE(parsed->summarize);
}

TEST(BuiltinParser, ChainsClausesInChinese) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("列出src目录中的文件，然后读取README.md");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u);
    EXPECT_EQ(parsed->actions[0].tool, "list_files");
    EXPECT_EQ(argument(parsed->actions[0], "path"), "src");
    EXPECT_EQ(parsed->actions[1].tool, "read_file");
    EXPECT_EQ(argument(parsed->actions[1], "path"), "README.md");
}

TEST(BuiltinParser, ChainsAWriteThenARead) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("write 'hi' to notes/a.txt, then read notes/a.txt and summarize it");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u);
    EXPECT_EQ(parsed->actions[0].tool, "write_file");
    EXPECT_EQ(parsed->actions[1].tool, "read_file");
    EXPECT_TRUE(parsed->summarize);
}

TEST(BuiltinParser, ChainedRunCommandTakesTheRest) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("list files, then run the command: echo a; echo b");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u);
    EXPECT_EQ(parsed->actions[0].tool, "list_files");
    EXPECT_EQ(parsed->actions[1].tool, "run_command");
    EXPECT_EQ(argument(parsed->actions[1], "command"), "echo a; echo b");
}

TEST(BuiltinParser, IgnoresTrailingPunctuation) {
    EXPECT_EQ(argument(only_action("read the file README.md."), "path"), "README.md");
    EXPECT_EQ(argument(only_action("列出src目录中的文件。"), "path"), "src");
}

TEST(BuiltinParser, DoesNotUnderstandAGreeting) {
    EXPECT_EQ(parse_builtin_task("Hello, Task Runner!"), std::nullopt);
}

TEST(BuiltinParser, DoesNotUnderstandAnEmptyTask) {
    EXPECT_EQ(parse_builtin_task(""), std::nullopt);
    EXPECT_EQ(parse_builtin_task("   "), std::nullopt);
    EXPECT_EQ(parse_builtin_task("."), std::nullopt);
}

TEST(BuiltinParser, DoesNotUnderstandAnUnknownRequest) {
    EXPECT_EQ(parse_builtin_task("make me a sandwich"), std::nullopt);
}

TEST(BuiltinParser, DoesNotUnderstandAReadWithoutAPath) {
    EXPECT_EQ(parse_builtin_task("read"), std::nullopt);
    EXPECT_EQ(parse_builtin_task("read "), std::nullopt);
    EXPECT_EQ(parse_builtin_task("读取"), std::nullopt);
}

TEST(BuiltinParser, DoesNotUnderstandAWriteWithoutATarget) {
    EXPECT_EQ(parse_builtin_task("write 'hello'"), std::nullopt);
}

// Regression: "read the file" was read as a request for a file named "file".
TEST(BuiltinParser, DoesNotTakeThePatternsOwnWordsForAPath) {
    EXPECT_EQ(parse_builtin_task("read the file"), std::nullopt);
    EXPECT_EQ(parse_builtin_task("Read the file."), std::nullopt);
}

TEST(BuiltinParser, RefusesAChainWithOneUnknownClause) {
    EXPECT_EQ(parse_builtin_task("list the files in src, then make me a sandwich"), std::nullopt);
}

TEST(BuiltinParser, RefusesInvalidUtf8InsteadOfProducingBrokenArguments) {
    EXPECT_EQ(parse_builtin_task("read the file \xFF\xFE.txt"), std::nullopt);
}

TEST(BuiltinParser, DescribesWhatItUnderstands) {
    const std::string capabilities = builtin_capabilities();
    for (const char *phrase :
         {"read the file", "list the files", "write", "run the command", "读取"})
        EXPECT_NE(capabilities.find(phrase), std::string::npos) << phrase;
}

} // namespace
} // namespace tr::runner
