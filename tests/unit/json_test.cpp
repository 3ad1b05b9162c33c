// core/json: parsing with located errors, duplicate keys refused, compact printing, and UTF-8
// repair so any bytes (a command's output, a file's content) can travel inside JSON.
#include "core/json.h"

#include "core/error.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <string>

namespace tr {
namespace {

using test::contains;

const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD

std::string parse_error_of(std::string_view text) {
    try {
        parse_json(text);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
        return e.what();
    }
    ADD_FAILURE() << "parse_json accepted: " << text;
    return "";
}

bool is_valid_json_string(const std::string &bytes) {
    JsonPtr value(json_stringn(bytes.data(), bytes.size())); // Jansson validates UTF-8
    return value != nullptr;
}

TEST(ParseJson, AcceptsAnObjectAndKeepsItsValues) {
    const JsonPtr parsed = parse_json(R"({"task":"list files","priority":"high","n":3})");
    ASSERT_TRUE(json_is_object(parsed.get()));
    EXPECT_EQ(json_string_member(parsed.get(), "task"), "list files");
    EXPECT_EQ(json_integer_value(json_object_get(parsed.get(), "n")), 3);
}

TEST(ParseJson, AcceptsAnArray) {
    const JsonPtr parsed = parse_json("[1, 2, 3]");
    ASSERT_TRUE(json_is_array(parsed.get()));
    EXPECT_EQ(json_array_size(parsed.get()), 3u);
}

TEST(ParseJson, ErrorNamesLineAndColumn) {
    const std::string message = parse_error_of("{\n  \"task\": \"x\",\n  \"priority\": \n}");
    EXPECT_TRUE(contains(message, "malformed JSON at line 4 column 1")) << message;
}

TEST(ParseJson, ErrorOnTheFirstLineNamesItsColumn) {
    const std::string message = parse_error_of(R"({"task": tru})");
    EXPECT_TRUE(contains(message, "line 1 column ")) << message;
    EXPECT_FALSE(contains(message, "column 0")) << message;
}

TEST(ParseJson, RejectsDuplicateKeys) {
    const std::string message = parse_error_of(R"({"task":"a","task":"b"})");
    EXPECT_TRUE(contains(message, "duplicate")) << message;
    EXPECT_TRUE(contains(message, "task")) << message;
}

TEST(ParseJson, RejectsDuplicateKeysInNestedObjects) {
    const std::string message = parse_error_of(R"({"context":{"tools":[],"tools":[]}})");
    EXPECT_TRUE(contains(message, "duplicate")) << message;
}

TEST(ParseJson, RejectsEmptyText) {
    EXPECT_TRUE(contains(parse_error_of(""), "line 1"));
}

TEST(ParseJson, RejectsTrailingGarbage) {
    EXPECT_TRUE(contains(parse_error_of("{} {}"), "malformed JSON"));
}

TEST(ParseJson, RejectsABareScalarDocument) {
    EXPECT_TRUE(contains(parse_error_of("\"just a string\""), "malformed JSON"));
    EXPECT_TRUE(contains(parse_error_of("42"), "malformed JSON"));
}

TEST(ParseJson, RejectsInvalidUtf8InsideAString) {
    EXPECT_TRUE(contains(parse_error_of("{\"task\":\"\xFF\"}"), "malformed JSON"));
}

TEST(ParseJson, RejectsTruncatedDocument) {
    EXPECT_TRUE(contains(parse_error_of(R"({"task":"a")"), "malformed JSON"));
}

TEST(DumpJson, IsCompactAndKeepsInsertionOrder) {
    JsonPtr object(json_object());
    json_object_set_new(object.get(), "z", json_integer(1));
    json_object_set_new(object.get(), "a", json_string("x y"));
    json_object_set_new(object.get(), "m", json_null());
    EXPECT_EQ(dump_json(object.get()), R"({"z":1,"a":"x y","m":null})");
}

TEST(DumpJson, PrintsAScalar) {
    const JsonPtr value(json_string("plain"));
    EXPECT_EQ(dump_json(value.get()), "\"plain\"");
}

TEST(DumpJson, RoundTripsChineseText) {
    const JsonPtr parsed = parse_json(R"({"task":"读取README.md文件并总结内容"})");
    EXPECT_EQ(dump_json(parsed.get()), R"({"task":"读取README.md文件并总结内容"})");
}

TEST(JsonShare, TakesItsOwnReference) {
    JsonPtr container = parse_json(R"({"inner":{"k":"v"}})");
    const JsonPtr inner = json_share(json_object_get(container.get(), "inner"));
    container.reset(); // the shared value outlives its container
    EXPECT_EQ(json_string_member(inner.get(), "k"), "v");
}

TEST(ToValidUtf8, KeepsAsciiUnchanged) {
    EXPECT_EQ(to_valid_utf8("hello, world\n\t"), "hello, world\n\t");
    EXPECT_EQ(to_valid_utf8(""), "");
}

TEST(ToValidUtf8, KeepsValidMultibyteTextUnchanged) {
    const std::string chinese = "读取README.md文件并总结内容";
    EXPECT_EQ(to_valid_utf8(chinese), chinese);
    const std::string mixed = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"; // é € 😀
    EXPECT_EQ(to_valid_utf8(mixed), mixed);
    const std::string edges =
        "\xC2\x80\xDF\xBF\xEF\xBF\xBF\xF4\x8F\xBF\xBF"; // U+80 U+7FF U+FFFF U+10FFFF
    EXPECT_EQ(to_valid_utf8(edges), edges);
}

TEST(ToValidUtf8, ReplacesInvalidBytes) {
    EXPECT_EQ(to_valid_utf8("a\xFF"
                            "b"),
              "a" + replacement + "b");
    EXPECT_EQ(to_valid_utf8("\x80"), replacement); // a lone continuation byte
    EXPECT_EQ(to_valid_utf8("\xFE\xFF"), replacement + replacement);
}

TEST(ToValidUtf8, ReplacesOverlongEncodings) {
    EXPECT_EQ(to_valid_utf8("\xC0\xAF"), replacement + replacement); // '/' in two bytes
    EXPECT_EQ(to_valid_utf8("\xC1\xBF"), replacement + replacement);
    EXPECT_EQ(to_valid_utf8("\xE0\x80\xAF"), replacement + replacement + replacement);
    EXPECT_EQ(to_valid_utf8("\xF0\x80\x80\xAF"),
              replacement + replacement + replacement + replacement);
}

TEST(ToValidUtf8, ReplacesSurrogates) {
    EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), replacement + replacement + replacement); // U+D800
    EXPECT_EQ(to_valid_utf8("x\xED\xBF\xBFy"), "x" + replacement + replacement + replacement + "y");
}

TEST(ToValidUtf8, ReplacesCodePointsAboveTheUnicodeRange) {
    EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"),
              replacement + replacement + replacement + replacement);
    EXPECT_EQ(to_valid_utf8("\xF5\x80\x80\x80"),
              replacement + replacement + replacement + replacement);
}

// A command that prints NUL (printf 'a\000b') must leave an output every JSON reader takes back.
TEST(ToValidUtf8, ReplacesNulBytes) {
    EXPECT_EQ(to_valid_utf8(std::string_view("a\0b", 3)), "a" + replacement + "b");
    EXPECT_EQ(to_valid_utf8(std::string_view("\0\0", 2)), replacement + replacement);
}

TEST(JsonText, StoresNulAsTheReplacementSoTheDumpParsesBack) {
    const JsonPtr value(json_text(std::string_view("a\0b", 3)));
    const std::string dumped = dump_json(value.get());
    EXPECT_EQ(dumped.find("\\u0000"), std::string::npos) << dumped;
    const JsonPtr parsed = parse_json("{\"output\":" + dumped + "}"); // strict: no ALLOW_NUL
    EXPECT_EQ(json_string_member(parsed.get(), "output"), "a" + replacement + "b");
}

TEST(ToValidUtf8, ReplacesASequenceCutShortAndKeepsWhatFollows) {
    EXPECT_EQ(to_valid_utf8("\xE4\xBD"), replacement + replacement); // "你" without its last byte
    EXPECT_EQ(to_valid_utf8("\xE4\xBD"
                            "a\xE4\xBD\xA0"),
              replacement + replacement + "a你");
}

TEST(ToValidUtf8, AlwaysProducesTextJanssonAccepts) {
    std::string every_byte;
    for (int byte = 1; byte < 256; ++byte)
        every_byte += static_cast<char>(byte);
    EXPECT_TRUE(is_valid_json_string(to_valid_utf8(every_byte)));
}

TEST(JsonText, KeepsValidText) {
    const JsonPtr value(json_text("列出src目录中的文件"));
    ASSERT_TRUE(json_is_string(value.get()));
    EXPECT_STREQ(json_string_value(value.get()), "列出src目录中的文件");
}

TEST(JsonText, NeverReturnsNullForInvalidUtf8) {
    const JsonPtr value(json_text("out\xFF\xC0\xAF"
                                  "put"));
    ASSERT_TRUE(json_is_string(value.get()));
    EXPECT_EQ(std::string(json_string_value(value.get())),
              "out" + replacement + replacement + replacement + "put");
}

// NUL became U+FFFD too: a stored "\u0000" is what strict readers (Jansson's default) refuse.
TEST(JsonText, ReplacesEmbeddedNulBytes) {
    const JsonPtr value(json_text(std::string_view("a\0b", 3)));
    ASSERT_TRUE(json_is_string(value.get()));
    EXPECT_EQ(std::string(json_string_value(value.get()), json_string_length(value.get())),
              "a" + replacement + "b");
}

TEST(JsonText, RepairsInvalidUtf8NextToNulBytes) {
    const JsonPtr value(json_text(std::string_view("a\0\xFF", 3)));
    ASSERT_TRUE(json_is_string(value.get()));
    EXPECT_EQ(std::string(json_string_value(value.get()), json_string_length(value.get())),
              "a" + replacement + replacement);
}

TEST(JsonFromColumn, NullStaysNull) {
    const JsonPtr value(json_from_column(std::nullopt));
    EXPECT_TRUE(json_is_null(value.get()));
}

TEST(JsonFromColumn, ParsesStoredJsonOfAnyType) {
    const JsonPtr object(json_from_column(std::string(R"({"a":1})")));
    EXPECT_TRUE(json_is_object(object.get()));
    const JsonPtr number(json_from_column(std::string("42")));
    EXPECT_EQ(json_integer_value(number.get()), 42);
}

TEST(JsonFromColumn, KeepsTextThatIsNotJsonAsAString) {
    const JsonPtr value(json_from_column(std::string("not json")));
    ASSERT_TRUE(json_is_string(value.get()));
    EXPECT_STREQ(json_string_value(value.get()), "not json");
}

TEST(JsonStringMember, ReturnsAStringMember) {
    const JsonPtr object = parse_json(R"({"s":"text","n":1})");
    EXPECT_EQ(json_string_member(object.get(), "s"), "text");
}

TEST(JsonStringMember, IsNulloptWhenAbsentOrNotAString) {
    const JsonPtr object = parse_json(R"({"s":"text","n":1,"z":null})");
    EXPECT_EQ(json_string_member(object.get(), "missing"), std::nullopt);
    EXPECT_EQ(json_string_member(object.get(), "n"), std::nullopt);
    EXPECT_EQ(json_string_member(object.get(), "z"), std::nullopt);
    EXPECT_EQ(json_string_member(nullptr, "s"), std::nullopt);
}

} // namespace
} // namespace tr
