// Digests from OpenSSL's libcrypto: SHA-256 for what must be compared but never stored in clear
// (API keys, the fingerprint that makes task_id an idempotency key), HMAC-SHA256 for what must
// prove where it came from (webhook signatures), and a comparison that leaks no timing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tr {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Throws Error(InternalError) naming the call if libcrypto fails (out of memory).
Sha256Digest sha256(std::string_view data);

// Lower-case hex of sha256(data): the form API-key hashes are stored in.
std::string sha256_hex(std::string_view data);

// RFC 2104 HMAC with SHA-256; throws as sha256.
Sha256Digest hmac_sha256(std::string_view key, std::string_view message);
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// Lower-case hex of any bytes.
std::string to_hex(const std::uint8_t *bytes, std::size_t size);

// Compares in time that depends only on the length, not on where the first difference is
// (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace tr
