// core/log: key=value lines where every event is exactly one line, whatever its values hold,
// written whole even when threads share the descriptor.
#include "core/log.h"

#include "core/time.h"
#include "core/unique_fd.h"
#include "test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tr {
namespace {

using test::contains;

// A pipe whose write end a Log can use; read_all() closes that end and returns everything.
class LogPipe {
public:
    LogPipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe2 failed");
        read_ = UniqueFd(fds[0]);
        write_ = UniqueFd(fds[1]);
    }

    int write_fd() const { return write_.get(); }

    void close_write() { write_.reset(); }

    // Everything until every write end is closed.
    std::string read_to_end() {
        std::string text;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(read_.get(), buffer, sizeof buffer)) > 0)
            text.append(buffer, static_cast<std::size_t>(n));
        return text;
    }

    std::string read_all() {
        close_write();
        return read_to_end();
    }

private:
    UniqueFd read_;
    UniqueFd write_;
};

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        lines.push_back(line);
    return lines;
}

TEST(LogFormatFields, WritesPlainValuesUnquoted) {
    EXPECT_EQ(Log::format_fields({{"task_id", "4b1f"}, {"attempt", 1}, {"runner", "r2"}}),
              " task_id=4b1f attempt=1 runner=r2");
}

TEST(LogFormatFields, WritesNothingForNoFields) {
    EXPECT_EQ(Log::format_fields({}), "");
}

TEST(LogFormatFields, QuotesValuesWithSpaces) {
    EXPECT_EQ(Log::format_fields({{"reason", "no such file"}}), R"( reason="no such file")");
}

TEST(LogFormatFields, QuotesAndEscapesValuesWithQuotes) {
    EXPECT_EQ(Log::format_fields({{"command", R"(echo "hi")"}}), R"( command="echo \"hi\"")");
}

TEST(LogFormatFields, QuotesValuesWithAnEqualsSign) {
    EXPECT_EQ(Log::format_fields({{"query", "a=b"}}), R"( query="a=b")");
}

TEST(LogFormatFields, QuotesAndEscapesBackslashes) {
    EXPECT_EQ(Log::format_fields({{"path", R"(C:\dir)"}}), R"( path="C:\\dir")");
}

TEST(LogFormatFields, QuotesAnEmptyValue) {
    EXPECT_EQ(Log::format_fields({{"model", ""}}), R"( model="")");
    EXPECT_EQ(Log::format_fields({{"model", static_cast<const char *>(nullptr)}}), R"( model="")");
}

TEST(LogFormatFields, EscapesNewlinesSoAnEventStaysOneLine) {
    const std::string line = Log::format_fields({{"output", "line one\nline two\r\n"}});
    EXPECT_EQ(line, R"( output="line one\nline two\r\n")");
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
}

TEST(LogFormatFields, EscapesTabsAndOtherControlCharacters) {
    EXPECT_EQ(Log::format_fields({{"v", "a\tb"}}), R"( v="a\tb")");
    EXPECT_EQ(Log::format_fields({{"v", std::string("a\x01z\x7F", 4)}}), R"( v="a\x01z\x7f")");
    EXPECT_EQ(Log::format_fields({{"v", std::string("a\0b", 3)}}), R"( v="a\x00b")");
}

TEST(LogFormatFields, KeepsUtf8TextAsItIs) {
    EXPECT_EQ(Log::format_fields({{"task", "列出文件"}}), " task=列出文件");
}

TEST(LogFormatFields, RendersNumbersAndBooleans) {
    EXPECT_EQ(Log::format_fields({{"ok", true}, {"failed", false}}), " ok=true failed=false");
    EXPECT_EQ(Log::format_fields({{"i", -3}, {"l", 4L}, {"ll", -5LL}}), " i=-3 l=4 ll=-5");
    EXPECT_EQ(Log::format_fields({{"u", 6u}, {"ul", 7ul}, {"ull", 18446744073709551615ull}}),
              " u=6 ul=7 ull=18446744073709551615");
    EXPECT_EQ(Log::format_fields({{"seconds", 1.5}}), " seconds=1.500");
}

TEST(Log, WritesOneLineWithTimestampLevelProcessAndEvent) {
    LogPipe pipe;
    const Log log("runner", LogLevel::Info, pipe.write_fd());
    log.info("task.claimed", {{"task_id", "4b1f"}, {"attempt", 1}});
    const std::vector<std::string> lines = lines_of(pipe.read_all());
    ASSERT_EQ(lines.size(), 1u);
    const std::string &line = lines[0];
    ASSERT_EQ(line.rfind("ts=", 0), 0u) << line;
    const std::string ts = line.substr(3, line.find(' ') - 3);
    EXPECT_TRUE(parse_utc(ts)) << ts;
    EXPECT_EQ(line.substr(line.find(' ')),
              " level=info proc=runner event=task.claimed task_id=4b1f attempt=1");
}

TEST(Log, WritesExactlyOneLinePerEventWhateverTheValues) {
    LogPipe pipe;
    const Log log("fcgi", LogLevel::Debug, pipe.write_fd());
    log.debug("llm.response", {{"body", "{\n  \"a\": 1\n}\n"}});
    log.info("request.done", {{"path", "/api/v1/tasks"}});
    log.warn("llm.retry", {{"reason", "rate limited\r\nretry"}, {"status", 429}});
    log.error("request.failed", {{"error", "x = \"y\"\n\n"}});
    const std::vector<std::string> lines = lines_of(pipe.read_all());
    ASSERT_EQ(lines.size(), 4u);
    const char *levels[] = {"debug", "info", "warn", "error"};
    const char *events[] = {"llm.response", "request.done", "llm.retry", "request.failed"};
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_EQ(lines[i].rfind("ts=", 0), 0u) << lines[i];
        EXPECT_TRUE(contains(lines[i],
                             std::string(" level=") + levels[i] + " proc=fcgi event=" + events[i]))
            << lines[i];
    }
}

TEST(Log, QuotesAnEventNameWithSpaces) {
    LogPipe pipe;
    const Log log("cli", LogLevel::Info, pipe.write_fd());
    log.info("odd event");
    EXPECT_TRUE(contains(pipe.read_all(), R"( event="odd event")"));
}

TEST(Log, DropsEventsBelowItsLevel) {
    LogPipe pipe;
    Log log("runner", LogLevel::Warn, pipe.write_fd());
    EXPECT_FALSE(log.enabled(LogLevel::Info));
    EXPECT_TRUE(log.enabled(LogLevel::Error));
    log.debug("hidden.debug");
    log.info("hidden.info");
    log.warn("shown.warn");
    log.set_min_level(LogLevel::Debug);
    EXPECT_TRUE(log.enabled(LogLevel::Debug));
    log.debug("shown.debug");
    const std::vector<std::string> lines = lines_of(pipe.read_all());
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(contains(lines[0], "event=shown.warn"));
    EXPECT_TRUE(contains(lines[1], "event=shown.debug"));
}

TEST(Log, KeepsLinesWholeWhenThreadsShareTheDescriptor) {
    LogPipe pipe;
    const Log log("runner", LogLevel::Info, pipe.write_fd());
    constexpr int threads = 4;
    constexpr int per_thread = 200;
    std::string received;
    // Read while the writers write, so the pipe never fills up and blocks them.
    std::thread reader([&] { received = pipe.read_to_end(); });
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&log, t] {
            for (int i = 0; i < per_thread; ++i)
                log.info("step.done", {{"thread", t}, {"i", i}, {"output", "a b\nc d e f g h"}});
        });
    for (std::thread &writer : writers)
        writer.join();
    pipe.close_write();
    reader.join();

    const std::vector<std::string> lines = lines_of(received);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
    for (const std::string &line : lines) {
        ASSERT_EQ(line.rfind("ts=", 0), 0u) << line;
        ASSERT_TRUE(contains(line, " level=info proc=runner event=step.done thread=")) << line;
        ASSERT_TRUE(contains(line, R"( output="a b\nc d e f g h")")) << line;
    }
}

TEST(ParseLogLevel, AcceptsTheFourLevelsAndWarning) {
    EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
    EXPECT_EQ(parse_log_level("info"), LogLevel::Info);
    EXPECT_EQ(parse_log_level("warn"), LogLevel::Warn);
    EXPECT_EQ(parse_log_level("warning"), LogLevel::Warn);
    EXPECT_EQ(parse_log_level("error"), LogLevel::Error);
}

TEST(ParseLogLevel, RejectsOtherNames) {
    for (const char *name : {"", "INFO", "verbose", "trace", "fatal", " info"})
        EXPECT_EQ(parse_log_level(name), std::nullopt) << name;
}

TEST(Redact, HidesTheSecretButSaysWhetherItWasSet) {
    EXPECT_EQ(redact(""), "(unset)");
    const std::string shown = redact("sk-test-1234567890");
    EXPECT_EQ(shown, "(redacted)");
    EXPECT_FALSE(contains(shown, "sk-"));
}

} // namespace
} // namespace tr
