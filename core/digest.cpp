// SHA-256 and HMAC through libcrypto's one-shot calls (EVP_Digest, HMAC).
#include "core/digest.h"

#include "core/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tr {

Sha256Digest sha256(std::string_view data) {
    Sha256Digest digest{};
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
        length != digest.size())
        throw Error(ErrorCode::InternalError, "EVP_Digest(SHA-256) failed");
    return digest;
}

std::string sha256_hex(std::string_view data) {
    const Sha256Digest digest = sha256(data);
    return to_hex(digest.data(), digest.size());
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
    Sha256Digest digest{};
    unsigned int length = 0;
    // An empty key is a valid HMAC key; data() of an empty view may be null, which HMAC refuses.
    static const unsigned char no_key = 0;
    const void *key_bytes = key.empty() ? &no_key : static_cast<const void *>(key.data());
    if (!HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char *>(message.data()), message.size(),
              digest.data(), &length) ||
        length != digest.size())
        throw Error(ErrorCode::InternalError, "HMAC(SHA-256) failed");
    return digest;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    const Sha256Digest digest = hmac_sha256(key, message);
    return to_hex(digest.data(), digest.size());
}

std::string to_hex(const std::uint8_t *bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        hex.push_back(digits[bytes[i] >> 4]);
        hex.push_back(digits[bytes[i] & 0x0f]);
    }
    return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace tr
