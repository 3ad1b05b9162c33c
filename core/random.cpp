// getrandom(2)-backed identifiers.
#include "core/random.h"

#include "core/error.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace tr {

void fill_random(void *buffer, std::size_t size) {
    auto *bytes = static_cast<unsigned char *>(buffer);
    std::size_t filled = 0;
    while (filled < size) {
        const ssize_t n = getrandom(bytes + filled, size - filled, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(ErrorCode::InternalError, system_error_text("getrandom", errno));
        filled += static_cast<std::size_t>(n);
    }
}

namespace {

std::string uuid_text(const unsigned char (&b)[16]) {
    char text[37];
    std::snprintf(text, sizeof text,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return text;
}

} // namespace

std::string new_uuid() {
    unsigned char b[16];
    fill_random(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40); // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80); // variant 10xx
    return uuid_text(b);
}

std::string new_time_ordered_uuid(std::uint64_t unix_ms) {
    unsigned char b[16];
    fill_random(b, sizeof b);
    for (int i = 0; i < 6; ++i) // big-endian, so the text sorts as the time does
        b[i] = static_cast<unsigned char>(unix_ms >> (8 * (5 - i)));
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70); // version 7
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80); // variant 10xx
    return uuid_text(b);
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    fill_random(raw.data(), raw.size());
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(bytes * 2);
    for (const unsigned char byte : raw) {
        text += digits[byte >> 4];
        text += digits[byte & 0x0F];
    }
    return text;
}

} // namespace tr
