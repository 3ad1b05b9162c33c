// What both wire formats share.
#include "runner/providers/wire.h"

#include "core/error.h"

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

} // namespace tr::runner
