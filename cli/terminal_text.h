// Text from the server or from a task, made safe to print on a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tr::cli {

// Whether line breaks and tabs survive (multi-line text such as a result's details) or become
// spaces (a field printed on one line, a table cell).
enum class Lines { Join, Keep };

// A server, a model or a command's output may hold control sequences (OSC 52 writes the
// clipboard, CSI 2J clears the screen). Every such text the CLI prints in text or verbose mode
// goes through here: C0 controls, DEL and the C1 controls U+0080..U+009F become visible escapes
// (\x1b, \u009b), invalid UTF-8 becomes U+FFFD. Longer than `limit` bytes: cut at a character
// boundary, "..." appended, the whole at most `limit` bytes.
std::string terminal_text(std::string_view text, Lines lines = Lines::Join,
                          std::size_t limit = std::string::npos);

} // namespace tr::cli
