// runner/providers/builtin_parser: the offline planner's reading of plain English and Chinese
// tasks into tool calls, deterministic and without any network.
#include "runner/providers/builtin_parser.h"

#include <gtest/gtest.h>

#include <fstream>
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

// --- Project summaries -------------------------------------------------------------------------

// The original's own first example: a listing of the working directory that reads its README.
TEST(BuiltinParser, SummarizesTheProjectInTheOriginalsFirstExample) {
    const BuiltinAction action = only_action("分析这个项目并创建摘要");
    EXPECT_EQ(action.tool, "list_files");
    EXPECT_EQ(argument(action, "path"), ".");
    EXPECT_FALSE(flag(action, "recursive"));
    EXPECT_TRUE(action.reads_readme);
}

TEST(BuiltinParser, SummarizesTheProjectInCloseVariants) {
    for (const char *task :
         {"summarize this project", "Summarise the project.", "summarize this repository",
          "summarize the current directory", "give me a summary of this project",
          "write a summary of the repository", "summary of this directory",
          "a short summary of this project", "analyze this project and create a summary",
          "Analyse the project, and write a summary", "analyze this codebase and summarize it",
          "describe this project", "what is this project about?", "project summary",
          "please summarize this folder", "总结这个项目", "分析项目并生成摘要",
          "总结一下这个项目。", "分析当前目录并生成摘要", "为这个项目创建摘要", "生成项目摘要",
          "请帮我分析这个仓库，并写一份摘要", "概括这个项目",
          // the README's examples
          "summarise the repository", "give me a summary of this directory",
          "analyze this project and write a summary"}) {
        const BuiltinAction action = only_action(task);
        EXPECT_EQ(action.tool, "list_files") << task;
        EXPECT_EQ(argument(action, "path"), ".") << task;
        EXPECT_TRUE(action.reads_readme) << task;
    }
}

// Regression: "summarize the project" was a request to read a file named "project".
TEST(BuiltinParser, AProjectSummaryIsNotTheReadOfAFileNamedProject) {
    EXPECT_EQ(only_action("summarize the project").tool, "list_files");
    const BuiltinAction file = only_action("summarize project.md", true);
    EXPECT_EQ(file.tool, "read_file");
    EXPECT_EQ(argument(file, "path"), "project.md");
    EXPECT_FALSE(file.reads_readme);
}

TEST(BuiltinParser, AProjectSummaryChainsWithOtherClauses) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("分析这个项目，然后创建摘要，然后运行命令：ls -d .");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u); // "创建摘要" asks for the summary the first gives
    EXPECT_TRUE(parsed->actions[0].reads_readme);
    EXPECT_EQ(argument(parsed->actions[1], "command"), "ls -d .");
}

TEST(BuiltinParser, ASummaryFollowUpClauseSummarizesWhatWasRead) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("read the file notes.txt, then summarize it");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 1u); // not a read of a file named "it"
    EXPECT_EQ(argument(parsed->actions[0], "path"), "notes.txt");
    EXPECT_TRUE(parsed->summarize);
}

// --- Commands run exactly as written -----------------------------------------------------------

// Regression: a final "." was cut, so this ran `ls -d`.
TEST(BuiltinParser, KeepsAFinalDotOfACommand) {
    EXPECT_EQ(argument(only_action("run the command: ls -d ."), "command"), "ls -d .");
}

// Regression: a final "?" was cut, so this ran `echo rc=$`.
TEST(BuiltinParser, KeepsAFinalQuestionMarkOfACommand) {
    EXPECT_EQ(argument(only_action("run the command: echo rc=$?"), "command"), "echo rc=$?");
}

TEST(BuiltinParser, KeepsEveryFinalMarkOfAnUnquotedCommand) {
    for (const char *command : {"echo hi!", "echo a,", "ls -la.", "echo done...", "echo 好。"})
        EXPECT_EQ(argument(only_action(std::string("run the command: ") + command), "command"),
                  command);
}

// Regression: the unquoted command swallowed ", then read notes.txt".
TEST(BuiltinParser, AnUnquotedCommandEndsAtCommaThen) {
    const std::optional<BuiltinTask> parsed =
        parse_builtin_task("run the command: ls -d ., then read the file notes.txt");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->actions.size(), 2u);
    EXPECT_EQ(argument(parsed->actions[0], "command"), "ls -d .");
    EXPECT_EQ(argument(parsed->actions[1], "path"), "notes.txt");
    const std::optional<BuiltinTask> chinese =
        parse_builtin_task("运行命令：echo rc=$?，然后读取notes.txt");
    ASSERT_TRUE(chinese);
    ASSERT_EQ(chinese->actions.size(), 2u);
    EXPECT_EQ(argument(chinese->actions[0], "command"), "echo rc=$?");
    const std::optional<BuiltinTask> and_then =
        parse_builtin_task("run make test, and then list files");
    ASSERT_TRUE(and_then);
    ASSERT_EQ(and_then->actions.size(), 2u);
    EXPECT_EQ(argument(and_then->actions[0], "command"), "make test");
}

TEST(BuiltinParser, TheShellsOwnSeparatorsStayInAnUnquotedCommand) {
    for (const char *command :
         {"if true; then echo y; fi", "make && make test", "echo a; echo b then c",
          "echo \"a, then b\"", "echo 'x, then y'", "echo a\\, then b"})
        EXPECT_EQ(argument(only_action(std::string("run the command: ") + command), "command"),
                  command);
}

TEST(BuiltinParser, AQuotedCommandIsExactlyTheQuotedText) {
    EXPECT_EQ(argument(only_action("run the command: `ls -d .`"), "command"), "ls -d .");
    EXPECT_EQ(argument(only_action("run the command: \"echo rc=$?\"."), "command"), "echo rc=$?");
    EXPECT_EQ(argument(only_action("run the command: 'echo a; echo b'"), "command"),
              "echo a; echo b");
    EXPECT_EQ(argument(only_action("run `echo \"a, then b\"`"), "command"), "echo \"a, then b\"");
    EXPECT_EQ(argument(only_action("run the command: `echo \"a, then b\"`"), "command"),
              "echo \"a, then b\""); // the README's example
    const std::optional<BuiltinTask> chained =
        parse_builtin_task("run the command: `ls -d .`; then read the file notes.txt");
    ASSERT_TRUE(chained);
    ASSERT_EQ(chained->actions.size(), 2u);
    EXPECT_EQ(argument(chained->actions[0], "command"), "ls -d .");
}

// Normalising quotes and colons finds the structure; it never rewrites a value.
TEST(BuiltinParser, TypographicQuotesDelimitButAreKeptInsideACommand) {
    EXPECT_EQ(argument(only_action("run the command: \u201cecho \u2018hi\u2019\u201d"), "command"),
              "echo \u2018hi\u2019");
    EXPECT_EQ(argument(only_action("运行命令：echo a\uff1ab"), "command"), "echo a\uff1ab");
    EXPECT_EQ(argument(only_action("run the command: echo it\u2019s fine"), "command"),
              "echo it\u2019s fine");
}

// The attack: text outside the quotes that would run if the quotes did not delimit exactly.
TEST(BuiltinParser, NothingOutsideTheQuotesOfACommandEverRuns) {
    for (const char *task : {
             "run the command: \"echo safe\"; rm -rf ~",
             "run the command: \"echo safe\" && rm -rf ~",
             "run the command: \"echo safe\"rm -rf ~",
             "run the command: 'echo safe' 'rm -rf ~'",
             "run the command: `echo safe` | sh",
             "run the command: \"echo \\\"safe\\\"; rm -rf ~\"",
             "run the command: \u201cecho safe\u201d; rm -rf ~",
             "run the command: `echo safe`. rm -rf ~",
             "run the command: `echo safe`, rm -rf ~",
             "run the command: `echo safe",
             "run the command: ``",
         }) {
        const std::optional<BuiltinTask> parsed = parse_builtin_task(task);
        if (!parsed)
            continue; // refused: nothing runs
        ASSERT_EQ(parsed->actions.size(), 1u) << task;
        EXPECT_EQ(argument(parsed->actions[0], "command"), "echo safe") << task;
    }
    const std::optional<BuiltinTask> inside =
        parse_builtin_task("run the command: `echo \"safe\"; rm -rf ~`");
    ASSERT_TRUE(inside); // what is inside the quotes is what was asked for, all of it
    EXPECT_EQ(argument(inside->actions[0], "command"), "echo \"safe\"; rm -rf ~");
}

TEST(BuiltinParser, AnEnglishVerbNeedsASpaceOrAColonBeforeItsCommand) {
    EXPECT_EQ(parse_builtin_task("running tests"), std::nullopt);
    EXPECT_EQ(parse_builtin_task("executed ls"), std::nullopt);
    EXPECT_EQ(argument(only_action("run:ls"), "command"), "ls");
}

// --- Paths are the paths given -----------------------------------------------------------------

// Regression: "list the files in .." listed ".".
TEST(BuiltinParser, KeepsTheDotsOfADotOnlyPath) {
    EXPECT_EQ(argument(only_action("list the files in .."), "path"), "..");
    EXPECT_EQ(argument(only_action("list the files in ."), "path"), ".");
    EXPECT_EQ(argument(only_action("list the files in src/.."), "path"), "src/..");
    EXPECT_EQ(argument(only_action("list the files in ../.."), "path"), "../..");
    EXPECT_EQ(argument(only_action("list the files in ..!"), "path"), "..");
    EXPECT_EQ(argument(only_action("列出..目录中的文件"), "path"), "..");
    const std::optional<BuiltinTask> chained =
        parse_builtin_task("list the files in .., then read the file README.md.");
    ASSERT_TRUE(chained);
    ASSERT_EQ(chained->actions.size(), 2u);
    EXPECT_EQ(argument(chained->actions[0], "path"), "..");
    EXPECT_EQ(argument(chained->actions[1], "path"), "README.md");
}

TEST(BuiltinParser, AQuotedPathIsExactlyTheQuotedText) {
    EXPECT_EQ(argument(only_action("read the file 'notes.'"), "path"), "notes.");
    EXPECT_EQ(argument(only_action("read the file \"a, b?\"."), "path"), "a, b?");
    EXPECT_EQ(argument(only_action("read the file \u201cmy notes.txt\u201d"), "path"),
              "my notes.txt");
}

TEST(BuiltinParser, ASentenceMarkAfterAPathIsTheSentences) {
    for (const char *task : {"read the file README.md.", "read the file README.md!",
                             "what is in README.md?", "read the file README.md,"})
        EXPECT_EQ(argument(only_action(task, std::string(task).rfind("what", 0) == 0), "path"),
                  "README.md")
            << task;
}

// --- Hostile input -----------------------------------------------------------------------------

TEST(BuiltinParser, SurvivesHugeInputs) {
    const std::string big(32 * 1024, 'a'); // the largest task text the API accepts
    EXPECT_EQ(parse_builtin_task(big), std::nullopt);
    EXPECT_EQ(parse_builtin_task("read the file " + big), std::nullopt);
    EXPECT_EQ(parse_builtin_task("write '" + big + "' to x.txt"), std::nullopt);
    EXPECT_EQ(parse_builtin_task(std::string(32 * 1024, '.')), std::nullopt);
    EXPECT_EQ(parse_builtin_task(std::string(16 * 1024, '"')), std::nullopt);
    std::string clauses;
    for (int i = 0; i < 2000; ++i)
        clauses += "list files, then ";
    EXPECT_EQ(parse_builtin_task(clauses + "list files").value().actions.size(), 2001u);
    // A command may be as long as the task: it is scanned, not matched by regex.
    const std::string command = "echo " + std::string(32 * 1024, 'x');
    EXPECT_EQ(argument(only_action("run the command: " + command), "command"), command);
}

TEST(BuiltinParser, SurvivesOddUnicode) {
    std::string odd;
    for (const char *piece :
         {"\u201c", "\u300c", "\uff1a", "\u3000", "\U0001F600", "\u200b", "\u202e", "\xEF\xBB\xBF",
          "\xF0\x9F", "\xC0\xAF", "\xED\xA0\x80", "\u7136\u540e", "\uff0c", "\u3002", "`"})
        for (int i = 0; i < 200; ++i)
            odd.append(piece).push_back('\0');
    EXPECT_NO_FATAL_FAILURE(parse_builtin_task(odd));
    EXPECT_EQ(parse_builtin_task("run the command: \xFF\xFE"), std::nullopt); // not UTF-8
    EXPECT_EQ(parse_builtin_task("list the files in \xC0\xAF"), std::nullopt);
    EXPECT_EQ(argument(only_action("run the command: echo \U0001F600\u202e"), "command"),
              "echo \U0001F600\u202e");
}

// The README's table of what the planner understands: every task it shows is understood, as
// the tool its row names first.
TEST(BuiltinParser, UnderstandsEveryTaskInTheReadmeTable) {
    std::ifstream readme(std::string(TR_SOURCE_DIR) + "/README.md");
    ASSERT_TRUE(readme) << "README.md not found";
    std::string line;
    while (std::getline(readme, line) && line != "| you write | it does |") {
    }
    ASSERT_TRUE(std::getline(readme, line)); // |---|---|
    int rows = 0;
    while (std::getline(readme, line) && line.rfind("| `", 0) == 0) {
        const std::size_t middle = line.find(" | ", 2);
        ASSERT_NE(middle, std::string::npos) << line;
        const std::string tasks = line.substr(2, middle - 2), does = line.substr(middle + 3);
        const std::size_t tool_start = does.find('`');
        const std::string first_tool =
            tool_start == std::string::npos
                ? ""
                : does.substr(tool_start + 1, does.find('`', tool_start + 1) - tool_start - 1);
        for (std::size_t open = tasks.find('`'); open != std::string::npos;
             open = tasks.find('`', tasks.find('`', open + 1) + 1)) {
            const std::string task = tasks.substr(open + 1, tasks.find('`', open + 1) - open - 1);
            const std::optional<BuiltinTask> parsed = parse_builtin_task(task);
            ASSERT_TRUE(parsed) << task;
            if (!first_tool.empty()) {
                EXPECT_EQ(parsed->actions.front().tool, first_tool) << task;
            }
        }
        ++rows;
    }
    EXPECT_GE(rows, 7);
}

TEST(BuiltinParser, DescribesWhatItUnderstands) {
    const std::string capabilities = builtin_capabilities();
    for (const char *phrase :
         {"read the file", "list the files", "write", "run the command", "读取"})
        EXPECT_NE(capabilities.find(phrase), std::string::npos) << phrase;
}

} // namespace
} // namespace tr::runner
