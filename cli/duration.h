// Durations as an operator types them: "30d", "12h", "90m", "45s" (task-runner prune
// --older-than). One whole number, then one unit; nothing else.
#pragma once

#include <chrono>
#include <string_view>

namespace tr::cli {

// Throws UsageError naming the text and what is allowed: an empty or signed number, a missing
// or unknown unit, a fraction, or more than 100 years (which no time in the database predates).
std::chrono::seconds parse_duration(std::string_view text);

} // namespace tr::cli
