// Small string helpers that several files need.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tr {

// "a, b, c" from {"a", "b", "c"} and ", ".
std::string join(const std::vector<std::string> &items, const char *separator);

// The text in double quotes, as messages show a value: "data/x.db".
std::string in_quotes(std::string_view text);

} // namespace tr
