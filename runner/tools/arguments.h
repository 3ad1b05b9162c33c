// Checking tool arguments against the tool's JSON Schema: the subset our schemas use (object,
// typed properties, required, additionalProperties false, integer minimum). A model's wrong
// arguments become a clear message it can correct, never a crash.
#pragma once

#include <jansson.h>

#include <optional>
#include <string>

namespace tr::runner {

// nullopt when valid, else what is wrong: "path must be a string (got an integer)".
std::optional<std::string> check_arguments(const json_t *schema, const json_t *arguments);

} // namespace tr::runner
