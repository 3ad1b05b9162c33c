// cli/command_line: a subcommand's words parsed against its declaration, and its help.
#include "cli/command_line.h"

#include "cli/usage_error.h"

#include <gtest/gtest.h>

namespace tr::cli {
namespace {

const Command example{"submit",
                      "FILE",
                      "Submit a file.",
                      {{"--wait", "SECONDS", "wait", false, true},
                       {"--tool", "NAME", "a tool", true},
                       {"--lock", "FILE", "the lock"},
                       {"--continue-on-error", "", "go on"}},
                      "",
                      {{0, "done"}, {2, "bad"}},
                      1,
                      1,
                      nullptr,
                      nullptr};

std::string refusal(const std::vector<std::string> &words) {
    try {
        Invocation::parse(example, words);
    } catch (const UsageError &e) {
        return e.what();
    }
    return "";
}

TEST(CommandLine, TakesValuesSpacedOrWithEqualsAndRepeatsWhereAllowed) {
    const Invocation parsed = Invocation::parse(
        example, {"--tool", "a", "--tool=b", "--lock=/x", "--continue-on-error", "f.tasks"});
    EXPECT_EQ(parsed.values("--tool"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(parsed.value("--lock"), "/x");
    EXPECT_TRUE(parsed.has("--continue-on-error"));
    EXPECT_EQ(parsed.operands(), (std::vector<std::string>{"f.tasks"}));
}

TEST(CommandLine, AnOptionalValueIsTakenOnlyWhenItIsANumber) {
    const Invocation bare = Invocation::parse(example, {"--wait", "f.tasks"});
    EXPECT_TRUE(bare.has("--wait"));
    EXPECT_EQ(bare.value("--wait"), std::nullopt);
    EXPECT_EQ(bare.operands(), (std::vector<std::string>{"f.tasks"}));
    const Invocation timed = Invocation::parse(example, {"--wait", "600", "f.tasks"});
    EXPECT_EQ(timed.value("--wait"), "600");
}

TEST(CommandLine, DashDashEndsOptionsAndASingleDashIsAnOperand) {
    EXPECT_EQ(Invocation::parse(example, {"--", "--lock"}).operands().front(), "--lock");
    EXPECT_EQ(Invocation::parse(example, {"-"}).operands().front(), "-");
    EXPECT_FALSE(Invocation::asks_for_help({"--", "--help"}));
    EXPECT_TRUE(Invocation::asks_for_help({"x", "-h"}));
}

TEST(CommandLine, RefusalsNameTheOptionButNeverItsValue) {
    EXPECT_EQ(refusal({"--lokc=secret", "f"}),
              "submit: unknown option --lokc (see task-runner submit --help)");
    EXPECT_EQ(refusal({"f", "--lock"}), "submit: --lock needs a value: --lock FILE");
    EXPECT_EQ(refusal({"--lock", "a", "--lock", "b", "f"}), "submit: --lock is given twice");
    EXPECT_EQ(refusal({"--continue-on-error=yes", "f"}),
              "submit: --continue-on-error takes no value");
    EXPECT_EQ(refusal({}), "submit: missing FILE");
    EXPECT_EQ(refusal({"a", "b"}), "submit: unexpected \"b\"");
}

TEST(CommandLine, HelpListsEveryOptionAndExitStatus) {
    const std::string help = help_text(example);
    EXPECT_EQ(help.rfind("usage: task-runner submit [OPTIONS] FILE\n", 0), 0u);
    for (const char *text :
         {"--wait [SECONDS]", "--tool NAME", "(repeatable)", "--lock FILE", "--continue-on-error",
          "-h, --help", "Exit status:", "  0     done", "  2     bad"})
        EXPECT_NE(help.find(text), std::string::npos) << text;
}

} // namespace
} // namespace tr::cli
