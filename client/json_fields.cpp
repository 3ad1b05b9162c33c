// Checked reads of a server's JSON answer.
#include "client/json_fields.h"

#include "client/bad_response.h"
#include "core/json.h"

namespace tr::client {

Fields::Fields(const json_t *object, std::string where)
    : object_(object), where_(std::move(where)) {
    if (!json_is_object(object_))
        throw BadResponse(where_ + " must be an object (got " + json_type_name(object_) + ")");
}

const json_t *Fields::member(const char *key) const {
    const json_t *value = json_object_get(object_, key);
    return json_is_null(value) ? nullptr : value;
}

void Fields::wrong_type(const char *key, const char *wanted, const json_t *got) const {
    throw BadResponse(where_ + "." + key + " must be " + wanted + " (got " + json_type_name(got) +
                      ")");
}

std::string Fields::required_string(const char *key) const {
    const json_t *value = member(key);
    if (!value)
        throw BadResponse(where_ + "." + key + " is missing");
    if (!json_is_string(value))
        wrong_type(key, "a string", value);
    return std::string(json_string_value(value), json_string_length(value));
}

std::optional<std::string> Fields::optional_string(const char *key) const {
    const json_t *value = member(key);
    if (!value)
        return std::nullopt;
    if (!json_is_string(value))
        wrong_type(key, "a string", value);
    return std::string(json_string_value(value), json_string_length(value));
}

std::string Fields::string_or(const char *key, std::string fallback) const {
    return optional_string(key).value_or(std::move(fallback));
}

std::optional<std::int64_t> Fields::optional_integer(const char *key) const {
    const json_t *value = member(key);
    if (!value)
        return std::nullopt;
    if (!json_is_integer(value))
        wrong_type(key, "an integer", value);
    return static_cast<std::int64_t>(json_integer_value(value));
}

std::int64_t Fields::integer_or(const char *key, std::int64_t fallback) const {
    return optional_integer(key).value_or(fallback);
}

double Fields::number_or(const char *key, double fallback) const {
    const json_t *value = member(key);
    if (!value)
        return fallback;
    if (!json_is_number(value))
        wrong_type(key, "a number", value);
    return json_number_value(value);
}

bool Fields::boolean_or(const char *key, bool fallback) const {
    const json_t *value = member(key);
    if (!value)
        return fallback;
    if (!json_is_boolean(value))
        wrong_type(key, "a boolean", value);
    return json_is_true(value);
}

std::vector<const json_t *> Fields::array(const char *key) const {
    const json_t *value = member(key);
    if (!value)
        return {};
    if (!json_is_array(value))
        wrong_type(key, "an array", value);
    std::vector<const json_t *> items;
    items.reserve(json_array_size(value));
    for (std::size_t i = 0; i < json_array_size(value); ++i)
        items.push_back(json_array_get(value, i));
    return items;
}

std::string Fields::item_where(const char *key, std::size_t index) const {
    return where_ + "." + key + "[" + std::to_string(index) + "]";
}

std::vector<std::string> Fields::strings(const char *key) const {
    std::vector<std::string> out;
    const std::vector<const json_t *> items = array(key);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!json_is_string(items[i]))
            throw BadResponse(item_where(key, i) + " must be a string (got " +
                              json_type_name(items[i]) + ")");
        out.emplace_back(json_string_value(items[i]), json_string_length(items[i]));
    }
    return out;
}

std::map<std::string, std::int64_t> Fields::integer_map(const char *key) const {
    std::map<std::string, std::int64_t> out;
    const std::optional<Fields> map = object(key);
    if (!map)
        return out;
    const char *name = nullptr;
    const json_t *value = nullptr;
    // jansson's iteration macro casts away const; the object is only read.
    json_object_foreach(const_cast<json_t *>(map->get()), name, value) {
        if (!json_is_integer(value))
            throw BadResponse(map->where() + "." + name + " must be an integer (got " +
                              json_type_name(value) + ")");
        out[name] = static_cast<std::int64_t>(json_integer_value(value));
    }
    return out;
}

std::string Fields::json_text(const char *key) const {
    const json_t *value = member(key);
    return value ? dump_json(value) : "null";
}

std::optional<Fields> Fields::object(const char *key) const {
    const json_t *value = member(key);
    if (!value)
        return std::nullopt;
    if (!json_is_object(value))
        wrong_type(key, "an object", value);
    return Fields(value, where_ + "." + key);
}

} // namespace tr::client
