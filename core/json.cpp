// JSON parsing, printing and UTF-8 repair on top of Jansson.
#include "core/json.h"

#include "core/error.h"

#include <cstdlib>

namespace tr {

JsonPtr parse_json(std::string_view text) {
    json_error_t error;
    // REJECT_DUPLICATES: {"task":"a","task":"b"} is ambiguous, so it is refused, not resolved.
    JsonPtr parsed(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
    if (!parsed)
        throw Error(ErrorCode::InvalidRequest,
                    "malformed JSON at line " + std::to_string(error.line) + " column " +
                        std::to_string(error.column) + ": " + error.text);
    return parsed;
}

std::string dump_json(const json_t *json) {
    struct Free {
        void operator()(char *text) const noexcept { std::free(text); }
    };
    std::unique_ptr<char, Free> text(
        json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12)));
    if (!text)
        throw Error(ErrorCode::InternalError, "json_dumps failed (out of memory)");
    return text.get();
}

JsonPtr json_share(json_t *json) {
    return JsonPtr(json_incref(json));
}

json_t *json_text(std::string_view text) {
    // Always repaired: json_stringn refuses invalid UTF-8 but takes NUL, which readers refuse.
    const std::string repaired = to_valid_utf8(text);
    json_t *value = json_stringn(repaired.data(), repaired.size());
    return value ? value : json_null(); // out of memory only
}

json_t *json_from_column(const std::optional<std::string> &text) {
    if (!text)
        return json_null();
    json_t *value = json_loadb(text->data(), text->size(), JSON_DECODE_ANY, nullptr);
    return value ? value : json_text(*text);
}

std::optional<std::string> json_string_member(const json_t *object, const char *key) {
    const json_t *value = json_object_get(object, key);
    if (!json_is_string(value))
        return std::nullopt;
    return std::string(json_string_value(value), json_string_length(value));
}

const char *json_type_name(const json_t *value) {
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

namespace {

// Length of the valid UTF-8 sequence starting at bytes[i], or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF included, as RFC 3629 says).
std::size_t utf8_sequence_length(std::string_view bytes, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0;
        if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90;
        if (lead == 0xF4)
            high = 0x8F;
    } else {
        return 0;
    }
    if (i + length > bytes.size())
        return 0;
    if (byte(i + 1) < low || byte(i + 1) > high)
        return 0;
    for (std::size_t k = 2; k < length; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
            return 0;
    return length;
}

} // namespace

std::string to_valid_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    std::size_t i = 0;
    while (i < bytes.size()) {
        const std::size_t length = utf8_sequence_length(bytes, i);
        // NUL is valid UTF-8 but no JSON client reads "\u0000" by default (Jansson refuses
        // it without JSON_ALLOW_NUL), so a stored output holding one would be unreadable.
        if (length == 0 || bytes[i] == '\0') {
            out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
            ++i;
            continue;
        }
        out.append(bytes.substr(i, length));
        i += length;
    }
    return out;
}

} // namespace tr
