// RFC 3339 formatting and parsing without locale or time-zone state (timegm/gmtime_r only).
#include "core/time.h"

#include <cstdio>
#include <ctime>

namespace tr {

std::string format_utc(TimePoint time) {
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
    long long ms = since_epoch.count();
    long long seconds = ms / 1000;
    long long millis = ms % 1000;
    if (millis < 0) { // times before 1970 still print a valid instant
        millis += 1000;
        seconds -= 1;
    }
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char text[64]; // wide enough for any int fields, so the format can never truncate
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", parts.tm_year + 1900,
                  parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                  millis);
    return text;
}

namespace {

bool read_digits(std::string_view text, std::size_t &pos, int count, int &value) {
    value = 0;
    for (int i = 0; i < count; ++i, ++pos) {
        if (pos >= text.size() || text[pos] < '0' || text[pos] > '9')
            return false;
        value = value * 10 + (text[pos] - '0');
    }
    return true;
}

// timegm() silently normalises impossible dates (February 31 becomes March 3), so the day is
// checked against its month first.
int days_in_month(int year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

bool expect(std::string_view text, std::size_t &pos, std::string_view allowed) {
    if (pos >= text.size() || allowed.find(text[pos]) == std::string_view::npos)
        return false;
    ++pos;
    return true;
}

} // namespace

std::optional<TimePoint> parse_utc(std::string_view text) {
    std::size_t pos = 0;
    int year, month, day, hour, minute, second;
    if (!read_digits(text, pos, 4, year) || !expect(text, pos, "-") ||
        !read_digits(text, pos, 2, month) || !expect(text, pos, "-") ||
        !read_digits(text, pos, 2, day) ||
        !expect(text, pos, "Tt ") /* RFC 3339 §5.6 allows t and space */ ||
        !read_digits(text, pos, 2, hour) || !expect(text, pos, ":") ||
        !read_digits(text, pos, 2, minute) || !expect(text, pos, ":") ||
        !read_digits(text, pos, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60)
        return std::nullopt;
    long long nanos = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        long long scale = 100000000;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            nanos += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start)
            return std::nullopt;
    }
    long long offset_seconds = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '+' ? 1 : -1;
        ++pos;
        int offset_hours, offset_minutes;
        if (!read_digits(text, pos, 2, offset_hours) || !expect(text, pos, ":") ||
            !read_digits(text, pos, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return std::nullopt;
        offset_seconds = sign * (offset_hours * 3600LL + offset_minutes * 60LL);
    } else {
        return std::nullopt;
    }
    if (pos != text.size())
        return std::nullopt;
    std::tm parts{};
    parts.tm_year = year - 1900;
    parts.tm_mon = month - 1;
    parts.tm_mday = day;
    parts.tm_hour = hour;
    parts.tm_min = minute;
    parts.tm_sec = second;
    const std::time_t seconds = timegm(&parts) - offset_seconds;
    // A TimePoint counts nanoseconds in 64 bits (about 1677 to 2262): a time outside would
    // overflow into some other time (since=2999-01-01 came back as one in the past, and the
    // bulk cancel it filtered cancelled every queued task). Such a time is refused.
    constexpr long long limit =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count();
    if (seconds >= limit || seconds <= -limit)
        return std::nullopt;
    return TimePoint(std::chrono::seconds(seconds)) +
           std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanos));
}

long long elapsed_ms(SteadyClock::time_point since, SteadyClock::time_point until) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(until - since).count();
}

} // namespace tr
