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

// An API key's owner: 1..100 of letters, digits and - _ . @, not only dots. It also names the
// owner's directory under tools.workspace_root, so "." and ".." can never be one.
bool is_owner_name(std::string_view name);

} // namespace tr
