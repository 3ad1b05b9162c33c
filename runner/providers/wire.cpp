// What both wire formats share.
#include "runner/providers/wire.h"

#include "core/error.h"

#include <algorithm>

namespace tr::runner {

JsonPtr parse_reply(std::string_view text) {
    try {
        return parse_json(text);
    } catch (const Error &e) {
        throw WireError(std::string("the response is not valid JSON (") + e.what() + ")");
    }
}

std::string text_member(const json_t *object, const char *key) {
    return json_string_member(object, key).value_or("");
}

long long token_count(const json_t *usage, const char *key) {
    const json_t *value = json_object_get(usage, key);
    if (!json_is_integer(value))
        return 0;
    return std::clamp<long long>(json_integer_value(value), 0, max_reported_tokens);
}

} // namespace tr::runner
