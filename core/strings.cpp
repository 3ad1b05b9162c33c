// String helpers.
#include "core/strings.h"

namespace tr {

std::string join(const std::vector<std::string> &items, const char *separator) {
    std::string out;
    for (const std::string &item : items)
        out += (out.empty() ? "" : separator) + item;
    return out;
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

} // namespace tr
