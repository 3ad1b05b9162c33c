// key=value log lines. Quoting follows logfmt: values with spaces, quotes, '=' or control
// characters are quoted and escaped, so one event is always exactly one line.
#include "core/log.h"

#include "core/time.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace tr {
namespace {

bool needs_quotes(std::string_view value) {
    if (value.empty())
        return true;
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || c == '"' || c == '=' || c == '\\' || byte == 0x7F)
            return true;
    }
    return false;
}

void append_value(std::string &line, std::string_view value) {
    if (!needs_quotes(value)) {
        line += value;
        return;
    }
    line += '"';
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': line += "\\\""; break;
        case '\\': line += "\\\\"; break;
        case '\n': line += "\\n"; break;
        case '\r': line += "\\r"; break;
        case '\t': line += "\\t"; break;
        default:
            if (byte < 0x20 || byte == 0x7F) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
                line += escaped;
            } else {
                line += c;
            }
        }
    }
    line += '"';
}

const char *level_name(LogLevel level) {
    switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    }
    return "info";
}

void append_fields(std::string &line, std::initializer_list<LogField> fields) {
    for (const LogField &field : fields) {
        line += ' ';
        line += field.key;
        line += '=';
        append_value(line, field.value);
    }
}

} // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
    if (name == "debug")
        return LogLevel::Debug;
    if (name == "info")
        return LogLevel::Info;
    if (name == "warn" || name == "warning")
        return LogLevel::Warn;
    if (name == "error")
        return LogLevel::Error;
    return std::nullopt;
}

LogField::LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
LogField::LogField(std::string_view k, const std::string &v) : key(k), value(v) {}
LogField::LogField(std::string_view k, const char *v) : key(k), value(v ? v : "") {}
LogField::LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
LogField::LogField(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, long v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, long long v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, unsigned v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, unsigned long v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, unsigned long long v) : key(k), value(std::to_string(v)) {}
LogField::LogField(std::string_view k, double v) : key(k) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", v);
    value = text;
}

Log::Log(std::string process, LogLevel min_level, int fd)
    : process_(std::move(process)), min_level_(min_level), fd_(fd) {}

void Log::debug(std::string_view event, std::initializer_list<LogField> fields) const {
    write(LogLevel::Debug, event, fields);
}
void Log::info(std::string_view event, std::initializer_list<LogField> fields) const {
    write(LogLevel::Info, event, fields);
}
void Log::warn(std::string_view event, std::initializer_list<LogField> fields) const {
    write(LogLevel::Warn, event, fields);
}
void Log::error(std::string_view event, std::initializer_list<LogField> fields) const {
    write(LogLevel::Error, event, fields);
}

std::string Log::format_fields(std::initializer_list<LogField> fields) {
    std::string line;
    append_fields(line, fields);
    return line;
}

void Log::write(LogLevel level, std::string_view event,
                std::initializer_list<LogField> fields) const {
    if (!enabled(level))
        return;
    std::string line = "ts=" + format_utc(Clock::now());
    line += " level=";
    line += level_name(level);
    line += " proc=";
    line += process_;
    line += " event=";
    append_value(line, event);
    append_fields(line, fields);
    line += '\n';
    // One write per line keeps lines whole when threads and processes share the descriptor.
    std::size_t written = 0;
    while (written < line.size()) {
        const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // logging must never take the service down; nothing sensible to do here
        written += static_cast<std::size_t>(n);
    }
}

std::string redact(std::string_view secret) {
    return secret.empty() ? "(unset)" : "(redacted)";
}

} // namespace tr
