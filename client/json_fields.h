// Typed, checked reads of one JSON object of a server's answer. Answers come from the network:
// a member of the wrong type is a BadResponse naming where it is and what came instead, never
// a crash or a silent zero. Absent members and nulls give the fallback (or nullopt), so an
// older or newer server with fewer or more fields still reads.
#pragma once

#include <jansson.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tr::client {

class Fields {
public:
    // Throws BadResponse when `object` is not a JSON object. `where` names it in messages
    // ("task", "task.steps[2]"). Borrows `object`: it must outlive this reader.
    Fields(const json_t *object, std::string where);

    const json_t *get() const noexcept { return object_; }
    const std::string &where() const noexcept { return where_; }

    // The member, or nullptr when absent or null.
    const json_t *member(const char *key) const;

    std::string required_string(const char *key) const;
    std::string string_or(const char *key, std::string fallback = "") const;
    std::optional<std::string> optional_string(const char *key) const;
    std::int64_t integer_or(const char *key, std::int64_t fallback = 0) const;
    std::optional<std::int64_t> optional_integer(const char *key) const;
    double number_or(const char *key, double fallback = 0) const; // integers too
    bool boolean_or(const char *key, bool fallback = false) const;
    std::vector<std::string> strings(const char *key) const; // an array of strings, or empty
    std::map<std::string, std::int64_t> integer_map(const char *key) const;
    // The member as compact JSON text; "null" when absent.
    std::string json_text(const char *key) const;
    // A member that must be an object (when present).
    std::optional<Fields> object(const char *key) const;
    // A member that must be an array (when present): its items, each named where.key[i].
    std::vector<const json_t *> array(const char *key) const;
    std::string item_where(const char *key, std::size_t index) const;

    [[noreturn]] void wrong_type(const char *key, const char *wanted, const json_t *got) const;

private:
    const json_t *object_;
    std::string where_;
};

} // namespace tr::client
