// Parsing "30d"-style durations.
#include "cli/duration.h"

#include "cli/usage_error.h"
#include "core/strings.h"

#include <string>

namespace tr::cli {
namespace {

constexpr long long max_seconds = 100LL * 366 * 24 * 3600;

[[noreturn]] void refuse(std::string_view text, const std::string &why) {
    throw UsageError("--older-than must be a whole number and a unit, d, h, m or s, such as 30d, "
                     "12h or 90m (got " +
                     in_quotes(std::string(text.substr(0, 40))) + ": " + why + ")");
}

long long unit_seconds(char unit) {
    switch (unit) {
    case 'd': return 24LL * 3600;
    case 'h': return 3600;
    case 'm': return 60;
    case 's': return 1;
    default: return 0;
    }
}

} // namespace

std::chrono::seconds parse_duration(std::string_view text) {
    if (text.empty())
        refuse(text, "empty");
    const long long unit = unit_seconds(text.back());
    if (unit == 0)
        refuse(text, "no unit");
    const std::string_view digits = text.substr(0, text.size() - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
        refuse(text, "not a whole number");
    long long number = 0;
    for (const char digit : digits) {
        number = number * 10 + (digit - '0');
        if (number * unit > max_seconds)
            refuse(text, "more than 100 years");
    }
    return std::chrono::seconds(number * unit);
}

} // namespace tr::cli
