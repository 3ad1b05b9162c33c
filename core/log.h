// Structured logging: one line per event, key=value, UTC, to a file descriptor (stderr).
//
//   ts=2026-11-29T09:14:07.311Z level=info proc=runner event=task.claimed task_id=4b1f... attempt=1
//
// Thread-safe: each line is formatted first and written with a single write(2).
// Never log secrets: API keys and task environment values go through redact() or not at all.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace tr {

enum class LogLevel { Debug, Info, Warn, Error };

std::optional<LogLevel> parse_log_level(std::string_view name);

// One key=value pair; the value is rendered once, at construction.
struct LogField {
    LogField(std::string_view key, std::string_view value);
    LogField(std::string_view key, const std::string &value);
    LogField(std::string_view key, const char *value);
    LogField(std::string_view key, bool value);
    LogField(std::string_view key, int value);
    LogField(std::string_view key, long value);
    LogField(std::string_view key, long long value);
    LogField(std::string_view key, unsigned value);
    LogField(std::string_view key, unsigned long value);
    LogField(std::string_view key, unsigned long long value);
    LogField(std::string_view key, double value);

    std::string_view key;
    std::string value;
};

class Log {
public:
    Log(std::string process, LogLevel min_level, int fd = 2);

    void debug(std::string_view event, std::initializer_list<LogField> fields = {}) const;
    void info(std::string_view event, std::initializer_list<LogField> fields = {}) const;
    void warn(std::string_view event, std::initializer_list<LogField> fields = {}) const;
    void error(std::string_view event, std::initializer_list<LogField> fields = {}) const;

    bool enabled(LogLevel level) const noexcept { return level >= min_level_; }
    void set_min_level(LogLevel level) noexcept { min_level_ = level; }

    // The line that would be written, without the timestamp: for tests.
    static std::string format_fields(std::initializer_list<LogField> fields);

private:
    void write(LogLevel level, std::string_view event,
               std::initializer_list<LogField> fields) const;

    std::string process_;
    LogLevel min_level_;
    int fd_;
};

// Replaces a secret with a fixed marker that still says whether it was set.
std::string redact(std::string_view secret);

} // namespace tr
