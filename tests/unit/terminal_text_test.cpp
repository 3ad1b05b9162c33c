// terminal_text: what the CLI prints of server or task text can carry no control sequence.
#include "cli/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace tr::cli {
namespace {

const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD

TEST(TerminalText, KeepsPrintableTextAndMultibyteCharacters) {
    EXPECT_EQ(terminal_text("hello, world"), "hello, world");
    EXPECT_EQ(terminal_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    EXPECT_EQ(terminal_text("\xC2\xA0\xC2\xBF"), "\xC2\xA0\xC2\xBF"); // U+00A0, U+00BF: not C1
}

TEST(TerminalText, EscapesOscAndCsiSequences) {
    EXPECT_EQ(terminal_text("T\x1b]0;PWNED\x07\x1b[2J"), "T\\x1b]0;PWNED\\x07\\x1b[2J");
    EXPECT_EQ(terminal_text("ok\x1b]52;c;cHduZWQ=\x07"), "ok\\x1b]52;c;cHduZWQ=\\x07");
    EXPECT_EQ(terminal_text("\r\b\x7f"), "\\x0d\\x08\\x7f");
    EXPECT_EQ(terminal_text(std::string_view("a\0b", 3)), "a" + replacement + "b");
}

TEST(TerminalText, EscapesC1Controls) {
    EXPECT_EQ(terminal_text("\xC2\x9B"
                            "2J"),
              "\\u009b2J"); // U+009B is a CSI by itself
    EXPECT_EQ(terminal_text("\xC2\x80\xC2\x9D\xC2\x9F"), "\\u0080\\u009d\\u009f");
}

TEST(TerminalText, ReplacesInvalidUtf8) {
    EXPECT_EQ(terminal_text("a\xFF"
                            "b"),
              "a" + replacement + "b");
    EXPECT_EQ(terminal_text("\x9B"), replacement); // a raw 8-bit CSI byte is not UTF-8
}

TEST(TerminalText, JoinsLinesUnlessAskedToKeepThem) {
    EXPECT_EQ(terminal_text("a\nb\tc"), "a b c");
    EXPECT_EQ(terminal_text("a\nb\tc\x1b[1m", Lines::Keep), "a\nb\tc\\x1b[1m");
    EXPECT_EQ(terminal_text("a\r\nb", Lines::Keep), "a\\x0d\nb");
}

TEST(TerminalText, ShortensAtACharacterBoundaryWithinTheLimit) {
    EXPECT_EQ(terminal_text("abcdef", Lines::Join, 6), "abcdef");
    EXPECT_EQ(terminal_text("abcdefg", Lines::Join, 6), "abc...");
    // "é" is two bytes: never cut in half, never over the limit.
    EXPECT_EQ(terminal_text("ab\xC3\xA9xyz", Lines::Join, 6), "ab...");
    // An escape is never cut in half either.
    EXPECT_EQ(terminal_text("a\x1b"
                            "bcdefgh",
                            Lines::Join, 7),
              "a...");
    EXPECT_LE(terminal_text(std::string(500, '\x1b'), Lines::Join, 60).size(), 60U);
}

} // namespace
} // namespace tr::cli
