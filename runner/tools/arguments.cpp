// A deliberately small JSON Schema checker for tool arguments.
#include "runner/tools/arguments.h"

#include "core/json.h"

#include <string_view>

namespace tr::runner {
namespace {

bool has_type(const json_t *value, std::string_view type) {
    if (type == "string")
        return json_is_string(value);
    if (type == "integer")
        return json_is_integer(value);
    if (type == "number")
        return json_is_number(value);
    if (type == "boolean")
        return json_is_boolean(value);
    if (type == "object")
        return json_is_object(value);
    if (type == "array")
        return json_is_array(value);
    return false;
}

} // namespace

std::optional<std::string> check_arguments(const json_t *schema, const json_t *arguments) {
    if (!json_is_object(arguments))
        return std::string("arguments must be a JSON object (got ") + json_type_name(arguments) +
               ")";
    const json_t *properties = json_object_get(schema, "properties");
    const json_t *required = json_object_get(schema, "required");
    size_t index;
    json_t *name;
    json_array_foreach(required, index, name) {
        if (!json_object_get(arguments, json_string_value(name)))
            return std::string(json_string_value(name)) + " is required";
    }
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(arguments), key, value) {
        const json_t *property = json_object_get(properties, key);
        if (!property) {
            std::string known;
            const char *known_key;
            json_t *ignored;
            json_object_foreach(const_cast<json_t *>(properties), known_key, ignored)
                known += (known.empty() ? "" : ", ") + std::string(known_key);
            return "unknown argument \"" + std::string(key) + "\" (this tool takes " + known + ")";
        }
        const char *type = json_string_value(json_object_get(property, "type"));
        if (type && !has_type(value, type))
            return std::string(key) + " must be " +
                   (std::string_view(type) == "integer" ? "an " : "a ") + type + " (got " +
                   json_type_name(value) + ")";
        const json_t *minimum = json_object_get(property, "minimum");
        if (minimum && json_is_number(value) &&
            json_number_value(value) < json_number_value(minimum))
            return std::string(key) + " must be at least " +
                   std::to_string(json_integer_value(minimum));
    }
    return std::nullopt;
}

} // namespace tr::runner
