// runner/tools and runner/sandbox/command: the four tools as a task calls them through
// execute_tool (allowed set, schema check, path rules, limits), and shell commands run in their
// own process group with a scrubbed environment, a timeout that kills the whole group, capped
// output and early stops; inside bubblewrap too, when it works here.
#include "runner/tools/tool.h"

#include "core/error.h"
#include "core/log.h"
#include "runner/sandbox/bubblewrap.h"
#include "runner/sandbox/command.h"
#include "runner/sandbox/sandbox_check.h"
#include "runner/task_failure.h"
#include "test_support.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace tr::runner {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::contains;
using test::TempDir;
using SteadyClock = std::chrono::steady_clock;

const Log &quiet() {
    static const Log log("tools_test", LogLevel::Error);
    return log;
}

// A sandbox as the runner makes it, for these tools settings and working directory (and the
// service's database where `database` says).
Sandbox make_sandbox(const ToolsConfig &tools, const std::string &kind, const std::string &work,
                     const std::string &database = "/nonexistent/task-runner.db") {
    Config config;
    config.storage.database = database;
    config.tools = tools;
    config.tools.sandbox = kind;
    config.tools.working_directory = work;
    config.tools.allowed_paths = {work};
    config.tools.writable_paths = {work};
    return Sandbox::set_up(config, "", "", quiet());
}

// Whether bubblewrap can sandbox commands on this machine; decided once, as the runner does.
bool bubblewrap_works() {
    static const bool works = [] {
        TempDir dir;
        return make_sandbox(ToolsConfig{}, "auto", dir.path()).kind() == SandboxKind::Bubblewrap;
    }();
    return works;
}

// Live processes whose command line contains `marker`. Each test sleeps for its own odd number
// of seconds ("sleep 4711"), so tests running in parallel never see each other's processes.
std::vector<pid_t> processes_with(const std::string &marker) {
    std::vector<pid_t> found;
    std::unique_ptr<DIR, int (*)(DIR *)> proc(::opendir("/proc"), ::closedir);
    if (!proc)
        return found;
    while (const dirent *entry = ::readdir(proc.get())) {
        const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
        if (pid <= 0 || !test::process_running(pid))
            continue;
        std::string cmdline;
        try {
            cmdline = test::read_text("/proc/" + std::to_string(pid) + "/cmdline");
        } catch (const std::exception &) {
            continue; // exited meanwhile
        }
        for (char &c : cmdline)
            if (c == '\0')
                c = ' ';
        if (contains(cmdline, marker))
            found.push_back(pid);
    }
    return found;
}

std::string data_string(const ToolResult &result, const char *key) {
    const json_t *value = json_object_get(result.data.get(), key);
    return json_is_string(value) ? json_string_value(value) : "(not a string)";
}

long long data_integer(const ToolResult &result, const char *key) {
    return json_integer_value(json_object_get(result.data.get(), key));
}

bool data_true(const ToolResult &result, const char *key) {
    return json_is_true(json_object_get(result.data.get(), key));
}

class ToolsTest : public ::testing::Test {
protected:
    ToolsTest()
        : work_(dir_.make_dir("work")),
          control_(TaskControl::Clock::now() + std::chrono::hours(1), shutdown_) {
        task_.working_directory = work_;
        task_.allowed_paths = {work_};
        task_.writable_paths = {work_};
        task_.tools = {"read_file", "write_file", "list_files", "run_command"};
        task_.timeout_seconds = 300;
        task_.max_steps = 10;
        config_.sandbox = "none";
    }

    ToolResult run(std::string_view tool, const std::string &arguments,
                   SandboxKind sandbox = SandboxKind::None) {
        return run_with(control_, tool, arguments, sandbox);
    }

    ToolResult run_with(const TaskControl &control, std::string_view tool,
                        const std::string &arguments, SandboxKind kind = SandboxKind::None) {
        const JsonPtr json = parse_json(arguments);
        ToolContext context{task_, config_, sandbox(kind), control, artifacts_, bytes_written_};
        return execute_tool(tool, json.get(), context);
    }

    // Made on first use, with config_ as it is then.
    const Sandbox &sandbox(SandboxKind kind) {
        std::optional<Sandbox> &made = kind == SandboxKind::Bubblewrap ? bubblewrap_ : none_;
        if (!made)
            made.emplace(make_sandbox(
                config_, kind == SandboxKind::Bubblewrap ? "bubblewrap" : "none", work_));
        return *made;
    }

    // A failed call's error; the call must fail.
    std::string failure(std::string_view tool, const std::string &arguments,
                        SandboxKind sandbox = SandboxKind::None) {
        const ToolResult result = run(tool, arguments, sandbox);
        EXPECT_FALSE(result.ok) << tool << " " << arguments << " succeeded: " << result.output;
        return result.error;
    }

    static std::string quoted(const std::string &text) {
        const JsonPtr value(json_text(text));
        return dump_json(value.get());
    }

    TempDir dir_;
    std::string work_;
    TaskContext task_;
    ToolsConfig config_;
    std::atomic<bool> shutdown_{false};
    TaskControl control_;
    std::vector<Artifact> artifacts_;
    long long bytes_written_ = 0;
    std::optional<Sandbox> none_;
    std::optional<Sandbox> bubblewrap_;
};

// read_file

TEST_F(ToolsTest, ReadFileReturnsTheContent) {
    dir_.write("work/notes.txt", "line one\nline two\n");
    const ToolResult result = run("read_file", R"({"path":"notes.txt"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "line one\nline two\n");
    EXPECT_EQ(data_string(result, "path"), "notes.txt");
    EXPECT_EQ(data_integer(result, "size"), 18);
    EXPECT_EQ(data_integer(result, "lines"), 2);
    EXPECT_FALSE(data_true(result, "truncated"));
    EXPECT_EQ(data_string(result, "content"), "line one\nline two\n");
}

TEST_F(ToolsTest, ReadFileAcceptsAnAbsolutePathInside) {
    dir_.write("work/sub/a.txt", "a");
    const ToolResult result = run("read_file", R"({"path":)" + quoted(work_ + "/sub/a.txt") + "}");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(data_string(result, "path"), "sub/a.txt");
}

TEST_F(ToolsTest, ReadFileRefusesADotDotEscape) {
    dir_.write("secret.txt", "secret");
    const std::string error = failure("read_file", R"({"path":"../secret.txt"})");
    EXPECT_EQ(error, "read_file: path \"../secret.txt\" is outside the allowed paths");
}

TEST_F(ToolsTest, ReadFileRefusesASymlinkToEtcPasswd) {
    std::filesystem::create_symlink("/etc/passwd", work_ + "/passwd");
    EXPECT_EQ(failure("read_file", R"({"path":"passwd"})"),
              "read_file: path \"passwd\" is outside the allowed paths");
}

TEST_F(ToolsTest, ReadFileRefusesADirectory) {
    dir_.make_dir("work/sub");
    EXPECT_EQ(failure("read_file", R"({"path":"sub"})"),
              "read_file: \"sub\" is a directory; use list_files");
}

TEST_F(ToolsTest, ReadFileRefusesAMissingFile) {
    EXPECT_EQ(failure("read_file", R"({"path":"missing.txt"})"),
              "read_file: path \"missing.txt\" does not exist");
}

TEST_F(ToolsTest, ReadFileMarksTruncationOverMaxOutputBytes) {
    config_.max_output_bytes = 1024;
    dir_.write("work/big.txt", std::string(3000, 'x'));
    const ToolResult result = run("read_file", R"({"path":"big.txt"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output.rfind(std::string(1024, 'x') + "\n[truncated", 0), 0u);
    EXPECT_TRUE(
        contains(result.output, "[truncated: the file is 3000 bytes; the first 1024 are shown]"));
    EXPECT_TRUE(data_true(result, "truncated"));
    EXPECT_EQ(data_integer(result, "size"), 3000);
}

TEST_F(ToolsTest, ReadFileRejectsAFileOverMaxFileBytes) {
    config_.max_file_bytes = 100;
    dir_.write("work/big.txt", std::string(200, 'x'));
    EXPECT_EQ(failure("read_file", R"({"path":"big.txt"})"),
              "read_file: \"big.txt\" is 200 bytes, over tools.max_file_bytes (100)");
}

TEST_F(ToolsTest, ReadFileDoesNotShowABinaryFile) {
    dir_.write("work/blob.bin", std::string("\x7F"
                                            "ELF\0\0\0",
                                            7));
    const ToolResult result = run("read_file", R"({"path":"blob.bin"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "(binary file, 7 bytes; not shown)");
    EXPECT_TRUE(data_true(result, "binary"));
}

TEST_F(ToolsTest, ReadFileRepairsInvalidUtf8) {
    dir_.write("work/latin1.txt", "caf\xE9\n");
    const ToolResult result = run("read_file", R"({"path":"latin1.txt"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "caf\xEF\xBF\xBD\n");
}

// write_file

TEST_F(ToolsTest, WriteFileCreatesTheFileAndItsParents) {
    const ToolResult result = run("write_file", R"({"path":"a/b/c.txt","content":"hi"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(test::read_text(work_ + "/a/b/c.txt"), "hi");
    EXPECT_EQ(result.output, "wrote 2 bytes to a/b/c.txt (now 2 bytes)");
    ASSERT_EQ(artifacts_.size(), 1u);
    EXPECT_EQ(artifacts_[0].path, "a/b/c.txt");
    EXPECT_EQ(artifacts_[0].size, 2);
}

TEST_F(ToolsTest, WriteFileReplacesAFileAtomically) {
    const std::string target = dir_.write("work/report.txt", "the old and longer content");
    struct stat before {};
    ASSERT_EQ(::stat(target.c_str(), &before), 0);
    const ToolResult result = run("write_file", R"({"path":"report.txt","content":"new"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(test::read_text(target), "new");
    struct stat after {};
    ASSERT_EQ(::stat(target.c_str(), &after), 0);
    EXPECT_NE(before.st_ino, after.st_ino); // a new file renamed over the old: never half-written
    for (const auto &entry : std::filesystem::directory_iterator(work_)) // no temporary left
        EXPECT_EQ(entry.path().filename(), "report.txt");
}

TEST_F(ToolsTest, WriteFileAppends) {
    dir_.write("work/log.txt", "one\n");
    const ToolResult result =
        run("write_file", R"({"path":"log.txt","content":"two\n","append":true})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(test::read_text(work_ + "/log.txt"), "one\ntwo\n");
    EXPECT_EQ(result.output, "appended 4 bytes to log.txt (now 8 bytes)");
    EXPECT_TRUE(data_true(result, "append"));
}

TEST_F(ToolsTest, WriteFileRecordsOneArtifactPerFileWithItsLatestSize) {
    ASSERT_TRUE(run("write_file", R"({"path":"out.txt","content":"12345"})").ok);
    ASSERT_TRUE(run("write_file", R"({"path":"out.txt","content":"678","append":true})").ok);
    ASSERT_TRUE(run("write_file", R"({"path":"other.txt","content":""})").ok);
    ASSERT_EQ(artifacts_.size(), 2u);
    EXPECT_EQ(artifacts_[0].path, "out.txt");
    EXPECT_EQ(artifacts_[0].size, 8);
    EXPECT_EQ(artifacts_[1].path, "other.txt");
    EXPECT_EQ(artifacts_[1].size, 0);
}

TEST_F(ToolsTest, WriteFileRefusesAnEscape) {
    EXPECT_EQ(failure("write_file", R"({"path":"../evil.txt","content":"x"})"),
              "write_file: path \"../evil.txt\" is outside the allowed paths");
    EXPECT_FALSE(test::exists(dir_ / "evil.txt"));
    EXPECT_TRUE(artifacts_.empty());
}

TEST_F(ToolsTest, WriteFileRefusesASymlinkLeadingOutside) {
    dir_.make_dir("outside");
    const std::string target = dir_.write("outside/target.txt", "keep");
    std::filesystem::create_symlink(dir_ / "outside", work_ + "/out");
    std::filesystem::create_symlink(target, work_ + "/link.txt");
    EXPECT_TRUE(contains(failure("write_file", R"({"path":"out/new.txt","content":"x"})"),
                         "is outside the allowed paths"));
    EXPECT_TRUE(contains(failure("write_file", R"({"path":"link.txt","content":"x"})"),
                         "is outside the allowed paths"));
    EXPECT_FALSE(test::exists(dir_ / "outside/new.txt"));
    EXPECT_EQ(test::read_text(target), "keep");
}

TEST_F(ToolsTest, WriteFileRefusesWritingOntoADirectory) {
    dir_.make_dir("work/sub");
    EXPECT_EQ(failure("write_file", R"({"path":"sub","content":"x"})"),
              "write_file: \"sub\" is a directory");
    EXPECT_EQ(failure("write_file", R"({"path":".","content":"x"})"),
              "write_file: \".\" is a directory");
    EXPECT_TRUE(std::filesystem::is_directory(work_ + "/sub"));
}

TEST_F(ToolsTest, WriteFileRefusesContentOverMaxFileBytes) {
    config_.max_file_bytes = 10;
    EXPECT_EQ(failure("write_file", R"({"path":"big.txt","content":"01234567890"})"),
              "write_file: content is 11 bytes, over tools.max_file_bytes (10)");
    EXPECT_FALSE(test::exists(work_ + "/big.txt"));
}

TEST_F(ToolsTest, WriteFileRefusesAParentThatIsAFile) {
    dir_.write("work/file.txt", "x");
    EXPECT_TRUE(contains(failure("write_file", R"({"path":"file.txt/inner.txt","content":"x"})"),
                         "write_file: "));
    EXPECT_EQ(test::read_text(work_ + "/file.txt"), "x");
}

// list_files

TEST_F(ToolsTest, ListFilesListsEntriesSortedWithSizes) {
    dir_.write("work/b.txt", "bbb");
    dir_.write("work/a.txt", "a");
    dir_.write("work/sub/inner.txt", "inner");
    const ToolResult result = run("list_files", R"({"path":"."})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "a.txt  1 bytes\nb.txt  3 bytes\nsub/\n");
    EXPECT_EQ(data_integer(result, "entries"), 3);
    EXPECT_EQ(data_integer(result, "files"), 2);
    EXPECT_EQ(data_integer(result, "directories"), 1);
    EXPECT_FALSE(data_true(result, "truncated"));
}

TEST_F(ToolsTest, ListFilesDefaultsToTheWorkingDirectory) {
    dir_.write("work/a.txt", "a");
    const ToolResult result = run("list_files", "{}");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "a.txt  1 bytes\n");
    EXPECT_EQ(data_string(result, "path"), ".");
}

TEST_F(ToolsTest, ListFilesListsRecursively) {
    dir_.write("work/a.txt", "a");
    dir_.write("work/sub/inner.txt", "inner");
    dir_.write("work/sub/deeper/x.txt", "xx");
    const ToolResult result = run("list_files", R"({"path":".","recursive":true})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(
        result.output,
        "a.txt  1 bytes\nsub/\nsub/deeper/\nsub/deeper/x.txt  2 bytes\nsub/inner.txt  5 bytes\n");
}

TEST_F(ToolsTest, ListFilesShowsSymlinksWithoutFollowingThem) {
    dir_.make_dir("outside");
    dir_.write("outside/secret.txt", "s");
    std::filesystem::create_symlink(dir_ / "outside", work_ + "/link");
    const ToolResult result = run("list_files", R"({"recursive":true})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "link (symlink)\n");
}

TEST_F(ToolsTest, ListFilesSaysWhenADirectoryIsEmpty) {
    dir_.make_dir("work/empty");
    const ToolResult result = run("list_files", R"({"path":"empty"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "(empty directory)\n");
}

TEST_F(ToolsTest, ListFilesStopsAfterAThousandEntriesAndSaysSo) {
    const std::string many = dir_.make_dir("work/many");
    for (int i = 0; i < 1005; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "f%04d", i);
        std::ofstream(many + "/" + name).put('x');
    }
    const ToolResult result = run("list_files", R"({"path":"many"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(data_integer(result, "entries"), 1000);
    EXPECT_TRUE(data_true(result, "truncated"));
    EXPECT_TRUE(contains(result.output, "f0999  1 bytes\n[truncated after 1000 entries]\n"))
        << result.output;
    EXPECT_FALSE(contains(result.output, "f1000"));
}

TEST_F(ToolsTest, ListFilesRefusesAFile) {
    dir_.write("work/a.txt", "a");
    EXPECT_EQ(failure("list_files", R"({"path":"a.txt"})"),
              "list_files: \"a.txt\" is not a directory; use read_file");
}

TEST_F(ToolsTest, ListFilesRefusesAnEscape) {
    EXPECT_EQ(failure("list_files", R"({"path":".."})"),
              "list_files: path \"..\" is outside the allowed paths");
    EXPECT_EQ(failure("list_files", R"({"path":"/"})"),
              "list_files: path \"/\" is outside the allowed paths");
}

// Arguments and the task's tool set

TEST_F(ToolsTest, RefusesMissingRequiredArguments) {
    EXPECT_EQ(failure("read_file", "{}"), "read_file: path is required");
    EXPECT_EQ(failure("write_file", R"({"path":"a.txt"})"), "write_file: content is required");
    EXPECT_EQ(failure("run_command", "{}"), "run_command: command is required");
}

TEST_F(ToolsTest, RefusesArgumentsOfTheWrongType) {
    EXPECT_EQ(failure("read_file", R"({"path":5})"),
              "read_file: path must be a string (got an integer)");
    EXPECT_EQ(failure("write_file", R"({"path":"a","content":"x","append":"yes"})"),
              "write_file: append must be a boolean (got a string)");
    EXPECT_EQ(failure("run_command", R"({"command":"true","timeout_seconds":1.5})"),
              "run_command: timeout_seconds must be an integer (got a number)");
    EXPECT_EQ(failure("list_files", R"({"recursive":1})"),
              "list_files: recursive must be a boolean (got an integer)");
}

TEST_F(ToolsTest, RefusesUnknownArguments) {
    EXPECT_EQ(failure("read_file", R"({"path":"a.txt","mode":"r"})"),
              "read_file: unknown argument \"mode\" (this tool takes path)");
}

TEST_F(ToolsTest, RefusesArgumentsThatAreNotAnObject) {
    EXPECT_EQ(failure("read_file", R"(["a.txt"])"),
              "read_file: arguments must be a JSON object (got an array)");
}

TEST_F(ToolsTest, RefusesANumberBelowItsMinimum) {
    EXPECT_EQ(failure("run_command", R"({"command":"true","timeout_seconds":0})"),
              "run_command: timeout_seconds must be at least 1");
}

TEST_F(ToolsTest, RefusesAnUnknownTool) {
    EXPECT_EQ(
        failure("delete_file", R"({"path":"a"})"),
        "unknown tool \"delete_file\" (tools: read_file, write_file, list_files, run_command)");
}

TEST_F(ToolsTest, RefusesAToolOutsideTheTasksSet) {
    task_.tools = {"read_file"};
    EXPECT_EQ(failure("write_file", R"({"path":"a.txt","content":"x"})"),
              "write_file is not available to this task");
    EXPECT_EQ(failure("run_command", R"({"command":"touch ran"})"),
              "run_command is not available to this task");
    EXPECT_FALSE(test::exists(work_ + "/a.txt"));
    EXPECT_FALSE(test::exists(work_ + "/ran"));
}

TEST(DisplayPath, IsRelativeToTheWorkingDirectoryWhenInside) {
    EXPECT_EQ(display_path("/srv/work/a/b.txt", "/srv/work"), "a/b.txt");
    EXPECT_EQ(display_path("/srv/work", "/srv/work"), ".");
    EXPECT_EQ(display_path("/srv/other/x", "/srv/work"), "/srv/other/x");
    EXPECT_EQ(display_path("/srv/workshop/x", "/srv/work"), "/srv/workshop/x");
    EXPECT_EQ(display_path("/etc/x", "/"), "etc/x");
}

// What no tool may touch, and the limits of the task as a whole

class ProtectedToolsTest : public ToolsTest {
protected:
    // The service's data next to the working directory, in a directory the task may read
    // (as the development config has it: the repository readable, work/ writable).
    void SetUp() override {
        database_ = dir_.write("service/data/task-runner.db", "SQLite format 3\n");
        dir_.write("service/data/task-runner.db-wal", "WAL\n");
        dir_.make_dir("work/repo/.git/hooks");
        task_.allowed_paths = {work_, dir_ / "service"};
        protected_.emplace(make_sandbox(config_, "none", work_, database_));
    }

    ToolResult guarded(std::string_view tool, const std::string &arguments) {
        const JsonPtr json = parse_json(arguments);
        ToolContext context{task_, config_, *protected_, control_, artifacts_, bytes_written_};
        return execute_tool(tool, json.get(), context);
    }

    std::string database_;
    std::optional<Sandbox> protected_;
};

TEST_F(ProtectedToolsTest, TheDatabaseCanBeNeitherReadNorWritten) {
    for (const char *path : {"../service/data/task-runner.db", "../service/data/task-runner.db-wal",
                             "../service/data/../data/task-runner.db"}) {
        const ToolResult read = guarded("read_file", std::string(R"({"path":")") + path + "\"}");
        EXPECT_FALSE(read.ok) << path;
        EXPECT_TRUE(contains(read.error, "is the service's own")) << read.error;
    }
    const ToolResult write =
        guarded("write_file", R"({"path":"../service/data/task-runner.db","content":"x"})");
    EXPECT_FALSE(write.ok);
    EXPECT_EQ(test::read_text(database_), "SQLite format 3\n");
    // A listing does not even name it.
    const ToolResult listing = guarded("list_files", R"({"path":"../service/data"})");
    ASSERT_TRUE(listing.ok) << listing.error;
    EXPECT_FALSE(contains(listing.output, "task-runner.db")) << listing.output;
}

TEST_F(ProtectedToolsTest, AHardLinkToTheDatabaseIsRefusedByItsInode) {
    ASSERT_EQ(::link(database_.c_str(), (work_ + "/innocent.txt").c_str()), 0);
    const ToolResult read = guarded("read_file", R"({"path":"innocent.txt"})");
    EXPECT_FALSE(read.ok);
    EXPECT_TRUE(contains(read.error, "another name of the service's own files")) << read.error;
    const ToolResult append =
        guarded("write_file", R"({"path":"innocent.txt","content":"x","append":true})");
    EXPECT_FALSE(append.ok);
    EXPECT_EQ(test::read_text(database_), "SQLite format 3\n");
}

// A task could rename the directories around a file inside a writable path, and so move it
// out from under its mask: the runner refuses to start so.
TEST_F(ToolsTest, TheServicesFilesMayNotBeInsideAWritablePath) {
    const std::string database = dir_.write("work/data/task-runner.db", "");
    try {
        make_sandbox(config_, "none", work_, database);
        ADD_FAILURE() << "a sandbox was made";
    } catch (const Error &e) {
        EXPECT_TRUE(contains(e.what(), "tools.writable_paths contains " + database)) << e.what();
    }
}

TEST_F(ProtectedToolsTest, GitDirectoriesAreNeverWritten) {
    const ToolResult hook =
        guarded("write_file", R"({"path":"repo/.git/hooks/pre-commit","content":"echo pwned"})");
    EXPECT_FALSE(hook.ok);
    EXPECT_TRUE(contains(hook.error, "read-only for every task")) << hook.error;
    EXPECT_FALSE(test::exists(work_ + "/repo/.git/hooks/pre-commit"));
    dir_.write("work/repo/.git/config", "[core]\n");
    EXPECT_TRUE(guarded("read_file", R"({"path":"repo/.git/config"})").ok); // reading is fine
}

TEST_F(ToolsTest, WritingIsOnlyInTheWritablePaths) {
    const std::string reference = dir_.make_dir("reference");
    dir_.write("reference/notes.txt", "keep");
    task_.allowed_paths = {work_, reference};
    const ToolResult read = run("read_file", R"({"path":")" + reference + R"(/notes.txt"})");
    EXPECT_TRUE(read.ok) << read.error;
    const ToolResult write =
        run("write_file", R"({"path":")" + reference + R"(/notes.txt","content":"changed"})");
    EXPECT_FALSE(write.ok);
    EXPECT_EQ(write.error, "write_file: path \"" + reference +
                               "/notes.txt\" is not writable: this task may write only in " +
                               work_);
    EXPECT_EQ(test::read_text(reference + "/notes.txt"), "keep");
}

TEST_F(ToolsTest, TheTasksWritesTogetherAreBounded) {
    config_.max_task_write_bytes = 10;
    EXPECT_TRUE(run("write_file", R"({"path":"a.txt","content":"123456"})").ok);
    const ToolResult second = run("write_file", R"({"path":"b.txt","content":"123456"})");
    EXPECT_FALSE(second.ok);
    EXPECT_TRUE(contains(second.error, "over tools.max_task_write_bytes (10)")) << second.error;
    EXPECT_FALSE(test::exists(work_ + "/b.txt"));
}

// Regression: read_file opened a FIFO blocking, and the worker waited for a writer past every
// deadline and every cancellation.
TEST_F(ToolsTest, AFifoIsRefusedAtOnceByReadAndAppend) {
    ASSERT_EQ(::mkfifo((work_ + "/fifo").c_str(), 0644), 0);
    const auto started = SteadyClock::now();
    const ToolResult read = run("read_file", R"({"path":"fifo"})");
    EXPECT_FALSE(read.ok);
    EXPECT_TRUE(contains(read.error, "is not a regular file")) << read.error;
    const ToolResult append = run("write_file", R"({"path":"fifo","content":"x","append":true})");
    EXPECT_FALSE(append.ok);
    EXPECT_LT(SteadyClock::now() - started, seconds(5));
}

// run_command without a sandbox

TEST_F(ToolsTest, RunCommandCapturesStdoutAndStderr) {
    const ToolResult result = run("run_command", R"({"command":"echo out; echo err >&2"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.output, "exit code 0\nstdout:\nout\nstderr:\nerr\n");
    EXPECT_EQ(data_string(result, "stdout"), "out\n");
    EXPECT_EQ(data_string(result, "stderr"), "err\n");
    EXPECT_EQ(data_integer(result, "exit_code"), 0);
    EXPECT_FALSE(data_true(result, "timed_out"));
}

TEST_F(ToolsTest, RunCommandRunsInTheWorkingDirectory) {
    const ToolResult result = run("run_command", R"({"command":"pwd; touch made-here"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(data_string(result, "stdout"), work_ + "\n");
    EXPECT_TRUE(test::exists(work_ + "/made-here"));
}

TEST_F(ToolsTest, RunCommandWithANonZeroExitFails) {
    const ToolResult result = run("run_command", R"({"command":"echo partial; exit 3"})");
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "`echo partial; exit 3` ended with exit code 3");
    EXPECT_EQ(data_integer(result, "exit_code"), 3);
    EXPECT_EQ(data_string(result, "stdout"), "partial\n");
}

TEST_F(ToolsTest, RunCommandKilledByASignalFails) {
    const ToolResult result = run("run_command", R"({"command":"kill -KILL $$"})");
    EXPECT_FALSE(result.ok);
    if (::geteuid() == 0) {
        // In a PID namespace of its own under a reaper, which reports it as shells do.
        EXPECT_EQ(result.error, "`kill -KILL $$` ended with exit code 137");
        return;
    }
    EXPECT_EQ(result.error, "`kill -KILL $$` ended with killed by signal 9 (Killed)");
    EXPECT_TRUE(json_is_null(json_object_get(result.data.get(), "exit_code")));
    EXPECT_EQ(data_integer(result, "signal"), 9);
}

TEST_F(ToolsTest, RunCommandRefusesAForbiddenCommand) {
    const std::string victim = dir_.make_dir("work/victim");
    for (const std::string command :
         {"rm -rf victim", "RM  -RF victim", "rm\t-rf   victim", "cd . && Rm -Rf victim"})
        EXPECT_EQ(
            failure("run_command", R"({"command":)" + quoted(command) + "}"),
            "run_command: refused: the command contains \"rm -rf\" (tools.forbidden_commands)")
            << command;
    EXPECT_TRUE(std::filesystem::is_directory(victim)); // nothing ran
}

TEST_F(ToolsTest, RunCommandRefusesAnEmptyCommand) {
    EXPECT_EQ(failure("run_command", R"({"command":"  \t"})"),
              "run_command: command must not be empty");
}

TEST_F(ToolsTest, RunCommandTimeoutKillsTheWholeProcessGroup) {
    config_.command_timeout_seconds = 1;
    const auto started = SteadyClock::now();
    const ToolResult result =
        run("run_command", R"({"command":"sleep 4711 & echo $! > bg.pid; sleep 4712"})");
    const auto took = SteadyClock::now() - started;
    EXPECT_LT(took, seconds(10)); // killed, not waited for
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(
        result.error,
        "`sleep 4711 & echo $! > bg.pid; sleep 4712` did not finish within 1.0 s and was killed");
    EXPECT_TRUE(data_true(result, "timed_out"));
    EXPECT_TRUE(result.output.rfind("timed out after 1.0 s, killed\n", 0) == 0) << result.output;
    // (bg.pid holds the pid as the command saw it, in a PID namespace of its own when root.)
    EXPECT_TRUE(test::exists(work_ + "/bg.pid"));
    EXPECT_TRUE(test::wait_until([] {
        return processes_with("sleep 4711").empty() && processes_with("sleep 4712").empty();
    }));
}

TEST_F(ToolsTest, RunCommandTakesTheShorterOfItsOwnAndTheServersTimeout) {
    config_.command_timeout_seconds = 60;
    const auto started = SteadyClock::now();
    const ToolResult result = run("run_command", R"({"command":"sleep 4713","timeout_seconds":1})");
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
    EXPECT_TRUE(data_true(result, "timed_out"));
    EXPECT_TRUE(test::wait_until([] { return processes_with("sleep 4713").empty(); }));
}

TEST_F(ToolsTest, RunCommandCapsOutputAndMarksItTruncated) {
    config_.max_output_bytes = 1024;
    const ToolResult result =
        run("run_command", R"({"command":"head -c 5000 /dev/zero | tr '\\0' a"})");
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(data_string(result, "stdout"), std::string(1024, 'a'));
    EXPECT_TRUE(
        contains(result.output, "[stdout truncated: 5000 bytes in all, the first 1024 shown]"))
        << result.output;
}

TEST_F(ToolsTest, RunCommandScrubsTheEnvironment) {
    ASSERT_EQ(::setenv("TR_TEST_RUNNER_SECRET", "must-not-leak", 1), 0);
    task_.environment = {{"GREETING", "hello"}, {"HOME", "/custom/home"}};
    const ToolResult result = run("run_command", R"({"command":"env"})");
    ::unsetenv("TR_TEST_RUNNER_SECRET");
    ASSERT_TRUE(result.ok) << result.error;
    const std::string env = data_string(result, "stdout");
    EXPECT_FALSE(contains(env, "TR_TEST_RUNNER_SECRET")) << env;
    EXPECT_FALSE(contains(env, "must-not-leak")) << env;
    EXPECT_TRUE(contains(env, "GREETING=hello\n")) << env;
    EXPECT_TRUE(contains(env, "HOME=/custom/home\n")) << env; // a task may set its own HOME
    EXPECT_TRUE(contains(env, "LANG=C.UTF-8\n")) << env;
    EXPECT_TRUE(contains(env, "PATH=/usr/local/bin:/usr/bin:/bin")) << env;
}

TEST_F(ToolsTest, RunCommandThrowsTaskStoppedWhenCancelled) {
    TaskControl control(TaskControl::Clock::now() + std::chrono::hours(1), shutdown_);
    std::thread canceller([&] {
        // Cancel once the command is really running, not after a guessed delay.
        test::wait_until([&] { return test::exists(work_ + "/started"); });
        control.cancel();
    });
    const auto started = SteadyClock::now();
    EXPECT_THROW(run_with(control, "run_command", R"({"command":"touch started; sleep 4714"})"),
                 TaskStopped);
    canceller.join();
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
    EXPECT_TRUE(test::wait_until([] { return processes_with("sleep 4714").empty(); }));
}

TEST_F(ToolsTest, RunCommandThrowsTaskStoppedOnShutdown) {
    std::thread stopper([&] {
        test::wait_until([&] { return test::exists(work_ + "/started"); });
        shutdown_ = true;
    });
    EXPECT_THROW(run("run_command", R"({"command":"touch started; sleep 4715"})"), TaskStopped);
    stopper.join();
    EXPECT_TRUE(test::wait_until([] { return processes_with("sleep 4715").empty(); }));
}

TEST_F(ToolsTest, RunCommandThrowsTaskStoppedWhenTheTaskDeadlinePasses) {
    const TaskControl control(TaskControl::Clock::now() + milliseconds(300), shutdown_);
    const auto started = SteadyClock::now();
    EXPECT_THROW(run_with(control, "run_command", R"({"command":"sleep 4716"})"), TaskStopped);
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
}

TEST(RunCommand, ReportsStopReasonAndStatusDirectly) {
    TempDir dir;
    const Sandbox sandbox = make_sandbox(ToolsConfig{}, "none", dir.path());
    const std::atomic<bool> shutdown{true};
    const TaskControl control(TaskControl::Clock::now() + std::chrono::hours(1), shutdown);
    CommandSpec spec;
    spec.command = "sleep 4717";
    spec.working_directory = dir.path();
    const CommandResult result = run_command(spec, sandbox, control);
    EXPECT_EQ(result.stopped, StopReason::Shutdown);
    EXPECT_EQ(result.status.signal, SIGKILL);
    EXPECT_FALSE(result.timed_out);
}

TEST(RunCommand, ThrowsWhenTheWorkingDirectoryIsMissing) {
    TempDir dir;
    const Sandbox sandbox = make_sandbox(ToolsConfig{}, "none", dir.path());
    const std::atomic<bool> shutdown{false};
    const TaskControl control(TaskControl::Clock::now() + std::chrono::hours(1), shutdown);
    CommandSpec spec;
    spec.command = "true";
    spec.working_directory = "/no/such/directory";
    EXPECT_THROW(run_command(spec, sandbox, control), Error);
}

TEST(BaseEnvironment, HoldsOnlyTheBasics) {
    const auto environment = base_environment("/home/task");
    std::vector<std::string> names;
    for (const auto &[name, value] : environment)
        names.push_back(name);
    EXPECT_EQ(names, (std::vector<std::string>{"PATH", "HOME", "LANG", "TMPDIR"}));
    EXPECT_EQ(environment[1].second, "/home/task");
}

// Sandbox choice and bubblewrap

TEST(SandboxSetUp, NoneMeansNone) {
    TempDir dir;
    EXPECT_EQ(make_sandbox(ToolsConfig{}, "none", dir.path()).kind(), SandboxKind::None);
}

TEST(SandboxSetUp, BubblewrapIsChosenWhenItWorksAndRequiredOtherwiseThrows) {
    TempDir dir;
    if (bubblewrap_works())
        EXPECT_EQ(make_sandbox(ToolsConfig{}, "bubblewrap", dir.path()).kind(),
                  SandboxKind::Bubblewrap);
    else
        EXPECT_THROW(make_sandbox(ToolsConfig{}, "bubblewrap", dir.path()), Error);
}

TEST(SandboxSetUp, DropsRootToTheSandboxUser) {
    TempDir dir;
    ToolsConfig tools;
    tools.sandbox_uid = 64123;
    const Sandbox sandbox = make_sandbox(tools, "none", dir.path());
    if (::geteuid() != 0) {
        EXPECT_FALSE(sandbox.drop_to());
        return;
    }
    ASSERT_TRUE(sandbox.drop_to());
    EXPECT_EQ(sandbox.drop_to()->uid, 64123u);
    EXPECT_EQ(sandbox.drop_to()->gid, 64123u);
    // The user has a name inside: "whoami" and git need one.
    EXPECT_TRUE(contains(sandbox.passwd(), "\ntask:x:64123:64123:")) << sandbox.passwd();
    EXPECT_TRUE(contains(sandbox.group(), "\ntask:x:64123:"));
    EXPECT_TRUE(contains(sandbox.passwd(), "root:x:0:0:"));
}

std::vector<std::string> argv_of(const SandboxLayout &layout) {
    return bubblewrap_command(layout, "ls -la");
}

bool has(const std::vector<std::string> &argv, const std::vector<std::string> &sequence) {
    return std::search(argv.begin(), argv.end(), sequence.begin(), sequence.end()) != argv.end();
}

std::size_t position(const std::vector<std::string> &argv,
                     const std::vector<std::string> &sequence) {
    return static_cast<std::size_t>(
        std::search(argv.begin(), argv.end(), sequence.begin(), sequence.end()) - argv.begin());
}

TEST(BubblewrapCommand, ConfinesTheShellCommand) {
    SandboxLayout layout;
    layout.working_directory = "/srv/work";
    layout.readable = {"/srv/shared", "/srv/work"};
    layout.writable = {"/srv/work"};
    layout.environment = {{"PATH", "/usr/bin"}, {"HOME", "/srv/work"}};
    layout.tmp_bytes = 1048576;
    layout.seccomp_fd = 3;
    layout.passwd_fd = 4;
    layout.group_fd = 5;
    const std::vector<std::string> argv = argv_of(layout);
    ASSERT_GE(argv.size(), 4u);
    EXPECT_EQ(argv.front(), "/usr/bin/bwrap");
    EXPECT_EQ(std::vector<std::string>(argv.end() - 6, argv.end()),
              (std::vector<std::string>{"--cap-drop", "ALL", "--", "/bin/sh", "-c", "ls -la"}));
    for (const char *flag : {"--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-net",
                             "--die-with-parent", "--new-session", "--clearenv"})
        EXPECT_TRUE(has(argv, {flag})) << flag;
    // Never --unshare-all or --unshare-user: as root, bwrap would make the command root in a
    // user namespace mapped to the host's root.
    EXPECT_FALSE(has(argv, {"--unshare-all"}));
    EXPECT_FALSE(has(argv, {"--unshare-user"}));
    EXPECT_TRUE(has(argv, {"--ro-bind", "/srv/shared", "/srv/shared"}));
    EXPECT_TRUE(has(argv, {"--bind", "/srv/work", "/srv/work"}));
    // The writable bind comes after the read-only one of the same directory, so it wins.
    EXPECT_LT(position(argv, {"--ro-bind", "/srv/work", "/srv/work"}),
              position(argv, {"--bind", "/srv/work", "/srv/work"}));
    EXPECT_TRUE(has(argv, {"--ro-bind", "/sys", "/sys"}));
    EXPECT_TRUE(has(argv, {"--size", "1048576", "--perms", "1777", "--tmpfs", "/tmp"}));
    EXPECT_TRUE(has(argv, {"--seccomp", "3"}));
    EXPECT_TRUE(has(argv, {"--ro-bind-data", "4", "/etc/passwd"}));
    EXPECT_TRUE(has(argv, {"--ro-bind-data", "5", "/etc/group"}));
    EXPECT_TRUE(has(argv, {"--chdir", "/srv/work"}));
    EXPECT_TRUE(has(argv, {"--remount-ro", "/"}));
    EXPECT_TRUE(has(argv, {"--setenv", "HOME", "/srv/work"}));
    EXPECT_FALSE(has(argv, {"--ro-bind", "/etc", "/etc"})); // only chosen entries of /etc
    EXPECT_FALSE(has(argv, {"--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"}));
    // What bwrap made to hold the mount points is opened for the sandbox user, not the host's.
    EXPECT_TRUE(has(argv, {"--chmod", "0755", "/etc"}));
    EXPECT_TRUE(has(argv, {"--chmod", "0755", "/srv"}));
    EXPECT_FALSE(has(argv, {"--chmod", "0755", "/srv/work"}));
    EXPECT_FALSE(has(argv, {"--chmod", "0755", "/tmp"}));
    EXPECT_FALSE(has(argv, {"--share-net"}));
}

TEST(BubblewrapCommand, MasksAndProtectsOverTheWritablePaths) {
    SandboxLayout layout;
    layout.working_directory = "/repo";
    layout.readable = {"/repo"};
    layout.writable = {"/repo/work"};
    layout.hidden_files = {"/repo/data/task-runner.db"};
    layout.hidden_directories = {"/repo/run"};
    layout.read_only = {"/repo/work/.git", "/repo/work/bin"};
    const std::vector<std::string> argv = argv_of(layout);
    const std::size_t writable = position(argv, {"--bind", "/repo/work", "/repo/work"});
    const std::size_t file =
        position(argv, {"--ro-bind", "/dev/null", "/repo/data/task-runner.db"});
    const std::size_t directory =
        position(argv, {"--perms", "0000", "--tmpfs", "/repo/run", "--remount-ro", "/repo/run"});
    const std::size_t git = position(argv, {"--ro-bind", "/repo/work/.git", "/repo/work/.git"});
    ASSERT_LT(git, argv.size());
    ASSERT_LT(file, argv.size());
    ASSERT_LT(directory, argv.size());
    EXPECT_LT(writable, file);
    EXPECT_LT(writable, directory);
    EXPECT_LT(writable, git);
    EXPECT_LT(git, position(argv, {"--remount-ro", "/"}));
}

TEST(BubblewrapCommand, DropsRootThroughSetprivAndGrantsTheNetworkOnlyWhenAsked) {
    SandboxLayout layout;
    layout.working_directory = "/w";
    layout.writable = {"/w"};
    layout.drop_to = Identity{65533, 65533};
    layout.network = true;
    const std::vector<std::string> argv = argv_of(layout);
    EXPECT_TRUE(
        has(argv, {"--", "/usr/bin/setpriv", "--reuid=65533", "--regid=65533", "--clear-groups",
                   "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all",
                   "--no-new-privs", "--", "/bin/sh", "-c", "ls -la"}));
    EXPECT_FALSE(has(argv, {"--cap-drop"})); // setpriv needs bwrap's to drop the rest
    EXPECT_FALSE(has(argv, {"--unshare-net"}));
    EXPECT_TRUE(has(argv, {"--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"}));
}

class SandboxedToolsTest : public ToolsTest {
protected:
    void SetUp() override {
        if (!bubblewrap_works())
            GTEST_SKIP() << "bubblewrap cannot create a sandbox here";
    }

    ToolResult sandboxed(const std::string &command) {
        return run("run_command", R"({"command":)" + quoted(command) + "}",
                   SandboxKind::Bubblewrap);
    }
};

// The sandbox check itself, around a real bwrap held before exec.
class SandboxCheckTest : public SandboxedToolsTest {
protected:
    // Starts bwrap for `layout_` and waits until it is held: its sandbox built, no command run.
    pid_t build() {
        int block[2], info[2];
        EXPECT_EQ(::pipe2(block, O_CLOEXEC), 0);
        EXPECT_EQ(::pipe2(info, O_CLOEXEC), 0);
        release_ = UniqueFd(block[1]);
        UniqueFd block_read(block[0]), info_write(info[1]);
        info_read_ = UniqueFd(info[0]);
        layout_.block_fd = 3;
        layout_.info_fd = 4;
        layout_.tmp_bytes = 1 << 20;
        layout_.drop_to = sandbox(SandboxKind::Bubblewrap).drop_to();
        SpawnSpec spec;
        spec.argv = bubblewrap_command(layout_, "touch /tmp/ran");
        spec.environment = std::vector<std::string>{};
        spec.capture_output = true;
        spec.inherited_fds = {block_read.get(), info_write.get()};
        child_ = ChildProcess::spawn(spec);
        const auto deadline = SteadyClock::now() + seconds(20);
        const std::optional<pid_t> builder = read_sandbox_pid(info_read_.get(), deadline);
        const bool held = builder && wait_for_sandbox(*builder, 3, deadline);
        if (!held) {
            child_.wait();
            std::string error(4096, '\0');
            error.resize(static_cast<std::size_t>(std::max<ssize_t>(
                0, ::read(child_.stderr_pipe().get(), error.data(), error.size()))));
            ADD_FAILURE() << "bwrap did not hold: " << error;
        }
        return builder.value_or(-1);
    }

    std::string check_error(pid_t builder, const PlannedSandbox &plan) {
        try {
            check_sandbox(builder, plan);
        } catch (const Error &e) {
            return e.what();
        }
        return "";
    }

    void TearDown() override { child_.kill_group(); }

    SandboxLayout layout_;
    UniqueFd release_, info_read_;
    ChildProcess child_;
};

TEST_F(SandboxCheckTest, ASandboxAsPlannedPasses) {
    const std::string granted = dir_.make_dir("work/granted");
    layout_.working_directory = "/";
    layout_.readable = {granted};
    layout_.writable = {work_ + "/out"};
    dir_.make_dir("work/out");
    const PlannedSandbox plan = pin_layout(layout_);
    EXPECT_EQ(check_error(build(), plan), "");
}

// A path pinned, then swapped for a link before bwrap mounts it: bwrap mounts what the link
// names, and the place does not hold the pinned directory.
TEST_F(SandboxCheckTest, APathSwappedBeforeBwrapMountsItIsCaught) {
    const std::string granted = dir_.make_dir("work/granted");
    const std::string elsewhere = dir_.make_dir("elsewhere");
    layout_.working_directory = "/";
    layout_.readable = {granted};
    const PlannedSandbox plan = pin_layout(layout_);
    ASSERT_EQ(::rename(granted.c_str(), (granted + ".moved").c_str()), 0);
    ASSERT_EQ(::symlink(elsewhere.c_str(), granted.c_str()), 0);
    EXPECT_TRUE(contains(check_error(build(), plan),
                         granted + " does not hold the directory that was granted"));
}

// Regression (a second attacker's pass): swapped while bwrap mounted it and put back before
// the check, the place held the right directory, but not as a mount of it (that had gone
// where the link pointed, over the sandbox's /proc with the host's).
TEST_F(SandboxCheckTest, APathPutBackBeforeTheCheckIsStillCaught) {
    const std::string outer = dir_.make_dir("work/outer");
    const std::string inner = dir_.make_dir("work/outer/inner");
    layout_.working_directory = "/";
    layout_.readable = {outer, inner};
    const PlannedSandbox plan = pin_layout(layout_);
    ASSERT_EQ(::rename(inner.c_str(), (inner + ".moved").c_str()), 0);
    // From work/outer, ../../../../usr is /usr: bwrap binds what the link names there.
    ASSERT_EQ(::symlink("../../../../usr", inner.c_str()), 0);
    const pid_t builder = build();
    ASSERT_EQ(::unlink(inner.c_str()), 0);
    ASSERT_EQ(::rename((inner + ".moved").c_str(), inner.c_str()), 0);
    EXPECT_TRUE(contains(check_error(builder, plan), inner + " is not where its mount is"));
}

TEST_F(SandboxedToolsTest, RunsTheCommandInTheWorkingDirectory) {
    const ToolResult result = sandboxed("pwd; echo hi > made-inside");
    ASSERT_TRUE(result.ok) << result.error << result.output;
    EXPECT_EQ(data_string(result, "stdout"), work_ + "\n");
    EXPECT_EQ(test::read_text(work_ + "/made-inside"), "hi\n");
}

TEST_F(SandboxedToolsTest, HasNoNetworkButLoopback) {
    const ToolResult result = sandboxed("grep : /proc/net/dev | cut -d: -f1 | tr -d ' '");
    ASSERT_TRUE(result.ok) << result.error << result.output;
    EXPECT_EQ(data_string(result, "stdout"), "lo\n");
}

TEST_F(SandboxedToolsTest, CannotSeeEtcShadow) {
    const ToolResult result = sandboxed("cat /etc/shadow");
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(contains(data_string(result, "stderr"), "No such file or directory"))
        << result.output;
}

TEST_F(SandboxedToolsTest, CannotSeeFilesOutsideTheAllowedPaths) {
    dir_.write("outside.txt", "secret");
    const ToolResult result = sandboxed("cat " + dir_ / "outside.txt");
    EXPECT_FALSE(result.ok);
    EXPECT_FALSE(contains(result.output, "secret"));
    const std::string build_dir =
        std::filesystem::canonical("/proc/self/exe").parent_path().string();
    const ToolResult listing = sandboxed("ls " + build_dir);
    EXPECT_FALSE(listing.ok) << listing.output;
}

TEST_F(SandboxedToolsTest, CanReadButNotWriteTheOtherAllowedPaths) {
    const std::string shared = dir_.make_dir("shared");
    dir_.write("shared/data.txt", "shared data");
    task_.allowed_paths = {work_, shared};
    const ToolResult read = sandboxed("cat " + shared + "/data.txt");
    ASSERT_TRUE(read.ok) << read.output;
    EXPECT_EQ(data_string(read, "stdout"), "shared data");
    const ToolResult write = sandboxed("echo x > " + shared + "/new.txt");
    EXPECT_FALSE(write.ok);
    EXPECT_TRUE(contains(data_string(write, "stderr"), "Read-only file system")) << write.output;
    EXPECT_FALSE(test::exists(shared + "/new.txt"));
}

// Regression: bwrap's root is a writable tmpfs unless remounted read-only, so "echo x >
// /etc/tr-probe" and "echo x > /tr-probe" succeeded inside the sandbox (invisibly to the host,
// but against "only the working directory writable").
TEST_F(SandboxedToolsTest, CannotWriteOutsideTheWorkingDirectory) {
    for (const char *target : {"/usr/tr-probe", "/etc/tr-probe", "/tr-probe"}) {
        const ToolResult result = sandboxed(std::string("echo x > ") + target);
        EXPECT_FALSE(result.ok) << target;
        EXPECT_TRUE(contains(data_string(result, "stderr"), "Read-only file system"))
            << result.output;
        EXPECT_FALSE(test::exists(target)) << target;
    }
}

TEST_F(SandboxedToolsTest, HasAPrivateTmp) {
    const std::string name = "/tmp/tr-sandbox-probe-" + std::to_string(::getpid());
    const ToolResult result = sandboxed("echo x > " + name + " && cat " + name);
    ASSERT_TRUE(result.ok) << result.output;
    EXPECT_FALSE(test::exists(name));
}

TEST_F(SandboxedToolsTest, SeesOnlyItsOwnEnvironment) {
    ASSERT_EQ(::setenv("TR_TEST_RUNNER_SECRET", "must-not-leak", 1), 0);
    task_.environment = {{"GREETING", "hello"}};
    const ToolResult result = sandboxed("env");
    ::unsetenv("TR_TEST_RUNNER_SECRET");
    ASSERT_TRUE(result.ok) << result.output;
    EXPECT_FALSE(contains(data_string(result, "stdout"), "TR_TEST_RUNNER_SECRET"));
    EXPECT_TRUE(contains(data_string(result, "stdout"), "GREETING=hello\n"));
}

TEST_F(SandboxedToolsTest, TimeoutKillsEverythingInTheSandbox) {
    config_.command_timeout_seconds = 1;
    const auto started = SteadyClock::now();
    const ToolResult result = sandboxed("sleep 4721 & sleep 4722");
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
    EXPECT_TRUE(data_true(result, "timed_out"));
    EXPECT_TRUE(test::wait_until([] {
        return processes_with("sleep 4721").empty() && processes_with("sleep 4722").empty();
    }));
}

TEST_F(SandboxedToolsTest, CancellationKillsEverythingInTheSandbox) {
    TaskControl control(TaskControl::Clock::now() + std::chrono::hours(1), shutdown_);
    std::thread canceller([&] {
        test::wait_until([&] { return test::exists(work_ + "/started"); });
        control.cancel();
    });
    EXPECT_THROW(run_with(control, "run_command",
                          R"({"command":"sleep 4723 & touch started; sleep 4724"})",
                          SandboxKind::Bubblewrap),
                 TaskStopped);
    canceller.join();
    EXPECT_TRUE(test::wait_until([] {
        return processes_with("sleep 4723").empty() && processes_with("sleep 4724").empty();
    }));
}

} // namespace
} // namespace tr::runner
