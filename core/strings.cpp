// String helpers.
#include "core/strings.h"

#include <cctype>

namespace tr {

std::string join(const std::vector<std::string> &items, const char *separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i == 0 ? "" : separator) + items[i];
    return out;
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

bool is_owner_name(std::string_view name) {
    if (name.empty() || name.size() > 100 || name.find_first_not_of('.') == std::string_view::npos)
        return false;
    for (const char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
            c != '@')
            return false;
    return true;
}

} // namespace tr
