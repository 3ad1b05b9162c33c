// Identifiers from the kernel's CSPRNG (getrandom), never from a seeded PRNG: task ids are
// guessable otherwise, and later API keys come from the same source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tr {

// Fills the buffer completely or throws Error(InternalError).
void fill_random(void *buffer, std::size_t size);

// RFC 9562 version 4 UUID, lower-case: "9b2c6a1e-3f4d-4c1b-8a2e-5d7f9e0c1b2a".
std::string new_uuid();

// RFC 9562 version 7 UUID: the Unix time in milliseconds (48 bits), then 74 random bits. For
// keys of large indexes: ids made one after the other sort one after the other, so inserting
// one touches the index's last pages instead of a random page (at 1,000,000 tasks, random ids
// made each group commit write a page per task). Still not guessable: 74 bits from getrandom.
std::string new_time_ordered_uuid(std::uint64_t unix_ms);

// 2 * bytes lower-case hex digits.
std::string random_hex(std::size_t bytes);

} // namespace tr
