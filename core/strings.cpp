// String helpers.
#include "core/strings.h"

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

} // namespace tr
