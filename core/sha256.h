// SHA-256 (FIPS 180-4), for what must be compared but never stored in clear: API keys, and the
// fingerprint of a task request that makes task_id an idempotency key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tr {

std::array<std::uint8_t, 32> sha256(std::string_view data);

// Lower-case hex of sha256(data).
std::string sha256_hex(std::string_view data);

// Compares in time that depends only on the length, not on where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace tr
