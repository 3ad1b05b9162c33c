// Text from the server or from a task, made safe to print on a terminal.
#include "cli/terminal_text.h"

#include "core/json.h"

namespace tr::cli {
namespace {

// `prefix` and `value` in `digits` lower-case hex digits: "\\x" 0x1b 2 -> "\\x1b".
std::string escaped(const char *prefix, unsigned value, int digits) {
    constexpr const char hex[] = "0123456789abcdef";
    std::string text = prefix;
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
        text += hex[(value >> shift) & 0xF];
    return text;
}

// The printable form of the character starting at text[i]; `length` says how many bytes it took.
// `text` is valid UTF-8, so a 0xC2 lead always has its continuation byte.
std::string piece_at(const std::string &text, std::size_t i, Lines lines, std::size_t &length) {
    const auto byte = static_cast<unsigned char>(text[i]);
    length = 1;
    if (byte == '\n' || byte == '\t')
        return lines == Lines::Keep ? std::string(1, text[i]) : " ";
    if (byte < 0x20 || byte == 0x7f)
        return escaped("\\x", byte, 2);
    if (byte == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
        length = 2; // U+0080..U+009F: C1 controls, U+009B is a CSI of its own
        return escaped("\\u", static_cast<unsigned char>(text[i + 1]), 4);
    }
    if (byte < 0x80)
        return std::string(1, text[i]);
    length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
    return text.substr(i, length);
}

} // namespace

std::string terminal_text(std::string_view text, Lines lines, std::size_t limit) {
    const std::string valid = to_valid_utf8(text);
    const std::string ellipsis = "...";
    std::string out;
    std::size_t fits = 0; // how much of `out` fits before an ellipsis, if one is needed
    std::size_t i = 0;
    while (i < valid.size()) {
        std::size_t length = 0;
        out += piece_at(valid, i, lines, length);
        i += length;
        if (out.size() + ellipsis.size() <= limit)
            fits = out.size();
        if (out.size() > limit) {
            out.resize(fits);
            return limit >= ellipsis.size() ? out + ellipsis : out;
        }
    }
    return out;
}

} // namespace tr::cli
