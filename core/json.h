// Ownership and small conveniences around Jansson.
//
// Jansson's rule, which every caller here follows: constructors and json_loads return a new
// reference (wrap it in JsonPtr at once), *_get functions borrow (never wrap), *_set_new and
// *_append_new steal the reference they are given.
#pragma once

#include <jansson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tr {

struct JsonDecref {
    void operator()(json_t *json) const noexcept { json_decref(json); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// Parses a complete JSON document. Throws Error(InvalidRequest) naming line, column and reason.
JsonPtr parse_json(std::string_view text);

// Compact UTF-8 text of a JSON value; keys keep insertion order.
std::string dump_json(const json_t *json);

// A borrowed reference made owning: for values kept beyond the life of their container.
JsonPtr json_share(json_t *json);

// json_string for a string_view (Jansson copies it); made valid first (to_valid_utf8).
json_t *json_text(std::string_view text);

// A stored JSON column: NULL stays JSON null, text is parsed (stored text is always valid JSON).
json_t *json_from_column(const std::optional<std::string> &text);

// Borrowed member that is a string, or nullopt when absent or of another type.
std::optional<std::string> json_string_member(const json_t *object, const char *key);

// "an object", "a string", "an integer", "a number", "a boolean", "null": for messages that say
// what was given instead of what was wanted.
const char *json_type_name(const json_t *value);

// Replaces invalid UTF-8 sequences and NUL bytes with U+FFFD so any bytes (a command's output,
// a file's content) can travel inside JSON and every client can parse it back: "\u0000" is
// legal JSON, but Jansson and many other parsers refuse it by default.
std::string to_valid_utf8(std::string_view bytes);

} // namespace tr
