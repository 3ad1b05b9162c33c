// Small string helpers that several files need.
#pragma once

#include <string>
#include <vector>

namespace tr {

// "a, b, c" from {"a", "b", "c"} and ", ".
std::string join(const std::vector<std::string> &items, const char *separator);

} // namespace tr
