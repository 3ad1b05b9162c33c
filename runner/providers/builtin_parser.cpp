// Pattern-based parsing for the builtin provider (what it understands: builtin_parser.h).
//
// The text is normalised first (typographic and CJK quotes to ASCII, the full-width colon and
// space to ASCII) to find its structure: clauses, quotes, patterns. Every value taken from it
// (a path, a command, text to write) is then cut from the task as given, through the map from
// each normalised byte back to the original, so normalising never rewrites a value.
//
// std::regex works on bytes here, so Chinese words appear only as literal alternatives, never
// inside a character class (a class would split their UTF-8 sequences into single bytes).
#include "runner/providers/builtin_parser.h"

#include <regex>

namespace tr::runner {
namespace {

constexpr auto icase = std::regex::ECMAScript | std::regex::icase;

// std::regex backtracks recursively, a few stack frames per byte: a 32 KiB clause overflowed
// an 8 MiB stack, while a 2 KiB one needs less than 1 MiB (measured unoptimised, on the
// patterns below; a worker thread has glibc's 2 MiB at the least). A clause longer than this is
// no simple task and is not understood. Commands are scanned, not matched, and may be as long
// as the task.
constexpr std::size_t max_clause_bytes = 2048;

// A path: quoted, or a run of non-space characters.
#define TR_PATH R"(("[^"]+"|'[^']+'|`[^`]+`|\S+))"
// A path in Chinese text, where words run into paths without spaces: ASCII path characters.
#define TR_PATH_ZH R"(("[^"]+"|'[^']+'|`[^`]+`|[A-Za-z0-9._/~+\-]+))"
// Text to write: quoted, or anything (shortest match).
#define TR_TEXT R"(("[^"]*"|'[^']*'|`[^`]*`|.+?))"
// What a project summary is of, and the words that ask for one.
#define TR_PROJECT                                                                                 \
    R"((?:this|the|current|our|my)\s+(?:current\s+)?(?:project|repository|repo|codebase|code\s+base|directory|folder|working\s+directory))"
#define TR_SUMMARY R"((?:a\s+|an\s+)?(?:short\s+|brief\s+)?(?:summary|overview))"
#define TR_MAKE R"((?:create|write|give(?:\s+me)?|make|produce|generate|provide))"
#define TR_PROJECT_ZH R"((?:这个|该|此|本|当前|整个)?(?:项目|仓库|代码库|工程|目录|文件夹))"
#define TR_SUMMARY_ZH R"((?:一个|一份|一下)?(?:项目)?(?:的)?(?:摘要|总结|概要|概述|简介))"
#define TR_MAKE_ZH R"((?:创建|生成|写|写出|编写|给出|做|提供))"

struct Pattern {
    std::regex regex;
    enum Kind { Project, Read, Summarize, List, Write } kind;
    // Write patterns: which groups hold the verb, the text and the path (word order differs).
    int verb_group = 1, text_group = 2, path_group = 3;
};

// clang-format off
const std::vector<Pattern> &patterns() {
    static const std::vector<Pattern> all = {
        // First: "summarize the project" would otherwise read a file named "project".
        {std::regex(R"(^(?:please\s+)?(?:can\s+you\s+)?(?:(?:analy[sz]e|describe|explain|look\s+at|review|go\s+through)\s+)" TR_PROJECT R"((?:,?\s+(?:and\s+)?(?:then\s+)?(?:)" TR_MAKE R"(\s+)" TR_SUMMARY R"((?:\s+of\s+it)?|summari[sz]e\s+it))?|summari[sz]e\s+)" TR_PROJECT R"(|(?:)" TR_MAKE R"(\s+)?)" TR_SUMMARY R"(\s+(?:of|for)\s+)" TR_PROJECT R"(|(?:the\s+)?project\s+(?:summary|overview)|what\s+is\s+)" TR_PROJECT R"((?:\s+about)?)$)", icase),
         Pattern::Project},
        {std::regex(R"(^(?:请)?(?:帮我|帮忙)?(?:分析|总结|概括|归纳|介绍|阅读|看看)(?:一下)?)" TR_PROJECT_ZH R"((?:(?:,|，)?(?:并且|并|然后|再)?)" TR_MAKE_ZH R"()" TR_SUMMARY_ZH R"()?$)"),
         Pattern::Project},
        {std::regex(R"(^(?:请)?(?:帮我|帮忙)?(?:为|给)?)" TR_PROJECT_ZH R"()" TR_MAKE_ZH R"()" TR_SUMMARY_ZH R"($)"),
         Pattern::Project},
        {std::regex(R"(^(?:请)?(?:帮我|帮忙)?)" TR_MAKE_ZH R"((?:一个|一份)?)" TR_PROJECT_ZH R"((?:的)?(?:摘要|总结|概要|概述|简介)$)"),
         Pattern::Project},

        {std::regex(R"(^(?:please\s+)?(?:can\s+you\s+)?(?:read|show|cat|display|print|open|view|output)(?:\s+me)?(?:\s+the)?(?:\s+(?:contents?|text)\s+of)?(?:\s+the)?(?:\s+file)?\s+)" TR_PATH R"((?:\s+file)?$)", icase),
         Pattern::Read},
        {std::regex(R"(^(?:please\s+)?(?:summari[sz]e|give\s+(?:me\s+)?a\s+summary\s+of|what(?:'s|\s+is)\s+in)(?:\s+the)?(?:\s+file)?\s+)" TR_PATH R"((?:\s+file)?\??$)", icase),
         Pattern::Summarize},
        {std::regex(R"(^(?:please\s+)?list(?:\s+all)?(?:\s+(?:the\s+)?(?:files|contents|entries|directory|folder|dir))?(?:\s+(?:in|of|under|inside|at|from))?(?:\s+the)?(?:\s+(?:directory|folder|dir))?(?:\s+(?:(?:the\s+)?(?:current|this|working)\s+(?:directory|folder|dir)|)" TR_PATH R"())?(?:\s+(?:directory|folder|dir))?(\s+recursively)?$)", icase),
         Pattern::List},
        {std::regex(R"(^(?:please\s+)?(?:show|display)(?:\s+me)?(?:\s+all)?(?:\s+the)?\s+(?:files|contents|entries)(?:\s+(?:in|of|under|inside))?(?:\s+the)?(?:\s+(?:directory|folder|dir))?(?:\s+(?:(?:the\s+)?(?:current|this|working)\s+(?:directory|folder|dir)|)" TR_PATH R"())?(\s+recursively)?$)", icase),
         Pattern::List},
        {std::regex(R"(^what\s+files\s+are\s+(?:in|under|inside)(?:\s+the)?(?:\s+(?:directory|folder|dir))?\s+(?:(?:the\s+)?(?:current|this|working)\s+(?:directory|folder|dir)|)" TR_PATH R"()()\??$)", icase),
         Pattern::List},
        {std::regex(R"(^(?:please\s+)?(write|append|put|save|add)\s+)" TR_TEXT R"(\s+(?:in)?to\s+(?:the\s+)?(?:end\s+of\s+)?(?:the\s+)?(?:file\s+)?)" TR_PATH R"($)", icase),
         Pattern::Write},

        {std::regex(R"(^(?:请)?(?:帮我)?(?:读取|读一下|读|查看|打开|显示|阅读|看看|看一下|输出)(?:一下)?(?:文件)?\s*)" TR_PATH_ZH R"(\s*(?:文件)?(?:的)?(?:内容)?$)"),
         Pattern::Read},
        {std::regex(R"(^(?:请)?(?:帮我)?(?:总结|概括|归纳)(?:一下)?(?:文件)?\s*)" TR_PATH_ZH R"(\s*(?:文件)?(?:的)?(?:内容)?$)"),
         Pattern::Summarize},
        {std::regex(R"(^(?:请)?(?:帮我)?(?:列出|查看|显示|看看)(?:一下)?\s*(?:(?:当前|这个)(?:目录|文件夹)|)" TR_PATH_ZH R"()?\s*(?:目录|文件夹)?\s*(?:中|下|里|内|里面)?(?:的)?(?:所有)?(?:文件|内容|文件列表)()$)"),
         Pattern::List},
        {std::regex(R"(^(?:请)?(?:列出|查看|显示)\s*)" TR_PATH_ZH R"(\s*(?:目录|文件夹)()$)"),
         Pattern::List},
        {std::regex(R"(^(?:请)?(?:将|把)\s*)" TR_TEXT R"(\s*(写入|追加到|追加至|添加到|保存到|写到)(?:文件)?\s*)" TR_PATH_ZH R"(\s*(?:文件)?(?:中|里)?$)"),
         Pattern::Write, 2, 1, 3},
        {std::regex(R"(^(?:请)?(写入|写|追加)\s*)" TR_TEXT R"(\s*(?:到|进|至)(?:文件)?\s*)" TR_PATH_ZH R"(\s*(?:文件)?(?:中|里)?$)"),
         Pattern::Write},
    };
    return all;
}

// The words before a command: "run the command:", "execute", "运行命令：". A space or a colon
// must follow an English verb, so "running" is not "run" + "ning".
const std::regex &run_prefix_english() {
    static const std::regex prefix(
        R"(^(?:please\s+)?(?:run|execute|exec)(?:\s+the)?(?:\s+(?:shell\s+)?command)?(?:\s*:\s*|\s+))",
        icase);
    return prefix;
}
const std::regex &run_prefix_chinese() {
    static const std::regex prefix(
        R"(^(?:请)?(?:帮我)?(?:运行|执行)(?:一下)?(?:shell)?(?:命令|指令)?\s*:?\s*)");
    return prefix;
}

// "…, then summarize it" / "……，然后创建摘要": a clause that asks for a summary of what the
// clauses before it read.
bool is_summary_follow_up(const std::string &words) {
    static const std::regex english(
        R"(^(?:and\s+)?(?:please\s+)?(?:summari[sz]e\s+(?:it|them|that|this|the\s+results?|what\s+you\s+(?:found|read))|)" TR_MAKE R"(\s+)" TR_SUMMARY R"((?:\s+of\s+(?:it|them|that|this))?)$)",
        icase);
    static const std::regex chinese(
        R"(^(?:并且|并|再)?(?:(?:总结|概括|归纳)(?:一下)?(?:内容)?|)" TR_MAKE_ZH R"()" TR_SUMMARY_ZH R"()$)");
    return std::regex_match(words, english) || std::regex_match(words, chinese);
}
// clang-format on

#undef TR_PATH
#undef TR_PATH_ZH
#undef TR_TEXT
#undef TR_PROJECT
#undef TR_SUMMARY
#undef TR_MAKE
#undef TR_PROJECT_ZH
#undef TR_SUMMARY_ZH
#undef TR_MAKE_ZH

// The task as given, and its normalised form with, for each normalised byte, the offset of the
// original character it came from (one more entry for the end).
class Text {
public:
    explicit Text(std::string_view task) : original_(task) {
        static const std::pair<std::string_view, char> replacements[] = {
            {"\u201c", '"'}, {"\u201d", '"'}, {"\u2018", '\''}, {"\u2019", '\''},
            {"\u300c", '"'}, {"\u300d", '"'}, {"\u300e", '"'},  {"\u300f", '"'},
            {"\uff1a", ':'}, {"\u3000", ' '}, {"\uff02", '"'},  {"\uff07", '\''}};
        text_.reserve(task.size());
        origin_.reserve(task.size() + 1);
        for (std::size_t i = 0; i < task.size();) {
            std::size_t taken = 1;
            char normal = task[i];
            for (const auto &[from, to] : replacements)
                if (task.compare(i, from.size(), from) == 0) {
                    taken = from.size();
                    normal = to;
                    break;
                }
            text_ += normal;
            origin_.push_back(i);
            i += taken;
        }
        origin_.push_back(task.size());
    }

    const std::string &normal() const noexcept { return text_; }
    std::size_t size() const noexcept { return text_.size(); }
    char operator[](std::size_t at) const noexcept { return text_[at]; }

    // The task as given between two normalised offsets.
    std::string original(std::size_t begin, std::size_t end) const {
        return std::string(original_.substr(origin_[begin], origin_[end] - origin_[begin]));
    }
    // Whether the normalised character at `at` was typed as it is (an ASCII quote, not a
    // typographic one the normalisation turned into it).
    bool as_typed(std::size_t at) const noexcept { return original_[origin_[at]] == text_[at]; }

private:
    std::string_view original_;
    std::string text_;
    std::vector<std::size_t> origin_;
};

// A part of the normalised text.
struct Span {
    std::size_t begin = 0, end = 0;
    bool empty() const noexcept { return begin >= end; }
    std::size_t size() const noexcept { return empty() ? 0 : end - begin; }
};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

Span trimmed(const Text &text, Span span) {
    while (!span.empty() && is_space(text[span.begin]))
        ++span.begin;
    while (!span.empty() && is_space(text[span.end - 1]))
        --span.end;
    return span;
}

bool starts_with_at(const Text &text, std::size_t at, std::string_view prefix, bool any_case) {
    if (text.size() - at < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const char c = text[at + i];
        const char lower =
            any_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
        if (lower != prefix[i])
            return false;
    }
    return true;
}

bool is_quote(char c) {
    return c == '"' || c == '\'' || c == '`';
}

// Clause separators, lowercase. An unquoted command has its own, shorter list: ";", "; then",
// " then " and "&&" are the shell's ("if x; then y; fi") and stay in the command.
constexpr std::string_view clause_separators[] = {
    ", and then ",
    " and then ",
    ", then ",
    " then ",
    "; and then ",
    "; then ",
    "; ",
    ";",
    "\uff1b",
    "\uff0c\u7136\u540e", // ，然后
    "\u3002\u7136\u540e", // 。然后
    "\u7136\u540e",       // 然后
    "\uff0c\u63a5\u7740", // ，接着
    "\u63a5\u7740",       // 接着
    "\uff0c\u518d",       // ，再
};
constexpr std::string_view command_separators[] = {
    ", and then ", ", then ",
    "\uff0c\u7136\u540e", // ，然后
    "\u3002\u7136\u540e", // 。然后
};

// The length of the separator at `at`, or 0.
template <std::size_t N>
std::size_t separator_at(const Text &text, std::size_t at,
                         const std::string_view (&separators)[N]) {
    for (const std::string_view separator : separators)
        if (starts_with_at(text, at, separator, true))
            return separator.size();
    return 0;
}

// Where the next clause separator starts at or after `from`, outside quotes, and its length.
std::pair<std::size_t, std::size_t> next_separator(const Text &text, std::size_t from) {
    char quote = 0;
    for (std::size_t i = from; i < text.size(); ++i) {
        if (quote) {
            if (text[i] == quote)
                quote = 0;
            continue;
        }
        if (is_quote(text[i])) {
            quote = text[i];
            continue;
        }
        if (const std::size_t length = separator_at(text, i, clause_separators))
            return {i, length};
    }
    return {text.size(), 0};
}

// The end of an unquoted command starting at `from`: the first command separator outside the
// shell's quotes (as typed: a typographic quote is an ordinary character to the shell), or the
// end of the text.
std::pair<std::size_t, std::size_t> command_end(const Text &text, std::size_t from) {
    char quote = 0;
    for (std::size_t i = from; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            if (c == quote && text.as_typed(i))
                quote = 0;
            else if (c == '\\' && quote == '"')
                ++i; // \" inside double quotes does not close them
            continue;
        }
        if (c == '\\') {
            ++i; // an escaped character is never a quote or the start of a separator
            continue;
        }
        if (is_quote(c) && text.as_typed(i)) {
            quote = c;
            continue;
        }
        if (const std::size_t length = separator_at(text, i, command_separators))
            return {i, length};
    }
    return {text.size(), 0};
}

// The marks that end a sentence: ". ! ? ," and their full-width forms.
constexpr std::string_view sentence_marks[] = {".",      "!",      "?",      ",",
                                               "\u3002", "\uff01", "\uff1f", "\uff0c"};

// The length of the sentence mark at `at`, or 0.
std::size_t sentence_mark_at(const Text &text, std::size_t at) {
    for (const std::string_view mark : sentence_marks)
        if (starts_with_at(text, at, mark, false))
            return mark.size();
    return 0;
}

// The length of the sentence mark that ends `span`, or 0.
std::size_t final_mark(const Text &text, Span span) {
    for (const std::string_view mark : sentence_marks)
        if (span.size() >= mark.size() && starts_with_at(text, span.end - mark.size(), mark, false))
            return mark.size();
    return 0;
}

// Whether the last word of `span` ends in a path part made only of dots ("." ".." "src/.."):
// its final "." is the path's, not a full stop.
bool ends_in_dot_part(const Text &text, Span span) {
    std::size_t at = span.end;
    while (at > span.begin && text[at - 1] == '.')
        --at;
    return at < span.end && (at == span.begin || is_space(text[at - 1]) || text[at - 1] == '/');
}

// A clause without its final sentence marks ("read README.md." -> "read README.md"), except a
// dot that belongs to a path ("list the files in .." keeps both).
Span without_sentence_marks(const Text &text, Span span) {
    for (span = trimmed(text, span); !span.empty(); span = trimmed(text, span)) {
        const std::size_t mark = final_mark(text, span);
        if (mark == 0 || (text[span.end - 1] == '.' && ends_in_dot_part(text, span)))
            break;
        span.end -= mark;
    }
    return span;
}

// "first list ..." / "首先……": the word is not part of the clause.
Span without_first(const Text &text, Span span) {
    for (const std::string_view first : {"first ", "\u9996\u5148"})
        if (starts_with_at(text, span.begin, first, true) && span.size() > first.size())
            return trimmed(text, {span.begin + first.size(), span.end});
    return span;
}

// A value matched inside a clause: the task as given, without the quotes around it.
std::string value_of(const Text &text, std::size_t clause_begin, const std::smatch &match,
                     int group) {
    std::size_t begin = clause_begin + static_cast<std::size_t>(match.position(group));
    std::size_t end = begin + static_cast<std::size_t>(match.length(group));
    if (end - begin >= 2 && is_quote(text[begin]) && text[end - 1] == text[begin]) {
        ++begin;
        --end;
    }
    return text.original(begin, end);
}

BuiltinAction list_action(const std::string &path, bool recursive) {
    BuiltinAction action;
    action.tool = "list_files";
    action.arguments.reset(json_pack("{s:s,s:b}", "path", path.c_str(), "recursive", recursive));
    action.description = "list " + path + (recursive ? " recursively" : "");
    return action;
}

// The working directory's listing, which the provider follows with a read of its README.
BuiltinAction project_summary() {
    BuiltinAction action = list_action(".", false);
    action.description = "list the project's files";
    action.reads_readme = true;
    return action;
}

BuiltinAction read_action(const std::string &path) {
    BuiltinAction action;
    action.tool = "read_file";
    action.arguments.reset(json_pack("{s:s}", "path", path.c_str()));
    action.description = "read " + path;
    return action;
}

BuiltinAction write_action(const Pattern &pattern, const Text &text, std::size_t clause_begin,
                           const std::smatch &match) {
    static const std::regex appending("append|add|追加|追加到|追加至|添加到", icase);
    const bool append = std::regex_match(match.str(pattern.verb_group), appending);
    const std::string content = value_of(text, clause_begin, match, pattern.text_group);
    const std::string path = value_of(text, clause_begin, match, pattern.path_group);
    BuiltinAction action;
    action.tool = "write_file";
    action.arguments.reset(json_pack("{s:s,s:s,s:b}", "path", path.c_str(), "content",
                                     content.c_str(), "append", append));
    action.description = (append ? "append to " : "write ") + path;
    return action;
}

BuiltinAction run_action(const std::string &command) {
    BuiltinAction action;
    action.tool = "run_command";
    action.arguments.reset(json_pack("{s:s}", "command", command.c_str()));
    action.description = "run: " + command;
    return action;
}

// "…, and summarize it" / "…并总结内容": removed from the clause, remembered as a flag.
bool take_summary_request(const Text &text, Span &clause) {
    static const std::regex english(
        R"(^(.*?)(?:,?\s+and)?(?:\s+then)?\s+(?:summari[sz]e|give\s+(?:me\s+)?a\s+summary(?:\s+of)?)(?:\s+(?:it|them|its\s+contents?|the\s+contents?|what\s+it\s+says))?$)",
        icase);
    static const std::regex chinese(
        R"(^(.*?)(?:,|，)?(?:并且|并|然后|再)?(?:总结|概括|摘要|归纳)(?:一下)?(?:其|它的|文件的)?(?:主要)?(?:内容|要点)?$)");
    const std::string words = text.normal().substr(clause.begin, clause.size());
    std::smatch match;
    if (!std::regex_match(words, match, english) && !std::regex_match(words, match, chinese))
        return false;
    const Span rest = trimmed(text, {clause.begin, clause.begin + match.str(1).size()});
    if (rest.empty())
        return false;
    clause = rest;
    return true;
}

std::optional<BuiltinAction> parse_clause(const Text &text, Span clause, bool &summarize) {
    const std::string words = text.normal().substr(clause.begin, clause.size());
    std::smatch match;
    for (const Pattern &pattern : patterns()) {
        if (!std::regex_match(words, match, pattern.regex))
            continue;
        BuiltinAction action;
        switch (pattern.kind) {
        case Pattern::Project: action = project_summary(); break;
        case Pattern::Summarize: summarize = true; [[fallthrough]];
        case Pattern::Read: {
            const std::string path = value_of(text, clause.begin, match, 1);
            if (path == "file" || path == "the") // "read the file": the pattern's words, no path
                return std::nullopt;
            action = read_action(path);
            break;
        }
        case Pattern::List:
            action = list_action(match[1].matched ? value_of(text, clause.begin, match, 1) : ".",
                                 match.size() > 2 && match[2].matched && match.length(2) > 0);
            break;
        case Pattern::Write: action = write_action(pattern, text, clause.begin, match); break;
        }
        if (!action.arguments) // json_pack refuses invalid UTF-8
            return std::nullopt;
        return action;
    }
    return std::nullopt;
}

// A clause that is not a command, its sentence marks dropped (without_sentence_marks).
std::optional<BuiltinAction> parse_plain_clause(const Text &text, Span clause, bool &summarize) {
    if (clause.empty() || clause.size() > max_clause_bytes)
        return std::nullopt;
    // The project patterns include their own "and create a summary"; take_summary_request
    // would otherwise cut "并创建摘要" down to "并创建".
    bool asked_summary = false;
    std::optional<BuiltinAction> action = parse_clause(text, clause, summarize);
    if (!action && take_summary_request(text, clause)) {
        asked_summary = true;
        action = parse_clause(text, clause, summarize);
    }
    if (action && asked_summary)
        summarize = true;
    return action;
}

// What a run clause gave: not a run clause at all, a command (and where the next clause
// starts), or a command written so that it cannot be taken exactly (the task is refused).
struct RunClause {
    enum { NotACommand, Command, Refused } outcome = NotACommand;
    std::string command;
    std::size_t next = 0;
};

// After a quoted command: the end, or a separator, with at most one sentence mark before it.
RunClause after_quoted_command(const Text &text, std::size_t at, std::string command) {
    const auto skip_spaces = [&] {
        while (at < text.size() && is_space(text[at]))
            ++at;
    };
    skip_spaces();
    for (int marks = 0; marks < 2; ++marks) {
        if (at == text.size())
            return {RunClause::Command, std::move(command), at};
        if (const std::size_t length = separator_at(text, at, clause_separators))
            return {RunClause::Command, std::move(command), at + length};
        const std::size_t mark = sentence_mark_at(text, at);
        if (mark == 0 || marks == 1)
            break;
        at += mark;
        skip_spaces();
    }
    return {RunClause::Refused, "", 0}; // something glued to the quotes: not what they say
}

RunClause parse_run_clause(const Text &text, Span rest) {
    std::smatch match;
    const std::string &normal = text.normal();
    const auto from = normal.begin() + static_cast<std::ptrdiff_t>(rest.begin);
    // The prefix is short and anchored; only it is matched by regex, whatever the length.
    if (!std::regex_search(from, normal.end(), match, run_prefix_english(),
                           std::regex_constants::match_continuous) &&
        !std::regex_search(from, normal.end(), match, run_prefix_chinese(),
                           std::regex_constants::match_continuous))
        return {};
    const std::size_t start = rest.begin + static_cast<std::size_t>(match.length(0));
    if (start >= text.size())
        return {};
    if (is_quote(text[start])) {
        const std::size_t close = normal.find(text[start], start + 1);
        if (close == std::string::npos || close == start + 1)
            return {RunClause::Refused, "", 0};
        return after_quoted_command(text, close + 1, text.original(start + 1, close));
    }
    const auto [end, length] = command_end(text, start);
    const Span command = trimmed(text, {start, end});
    if (command.empty())
        return {RunClause::Refused, "", 0};
    return {RunClause::Command, text.original(command.begin, command.end), end + length};
}

} // namespace

std::optional<BuiltinTask> parse_builtin_task(std::string_view task) {
    const Text text(task);
    BuiltinTask parsed;
    std::size_t position = 0;
    while (position < text.size()) {
        const Span rest = without_first(text, trimmed(text, {position, text.size()}));
        if (rest.empty())
            break;
        const RunClause run = parse_run_clause(text, rest);
        if (run.outcome == RunClause::Refused)
            return std::nullopt;
        if (run.outcome == RunClause::Command) {
            parsed.actions.push_back(run_action(run.command));
            if (!parsed.actions.back().arguments) // json_pack refuses invalid UTF-8
                return std::nullopt;
            position = run.next;
            continue;
        }
        const auto [at, length] = next_separator(text, rest.begin);
        position = at + length;
        if (without_sentence_marks(text, {rest.begin, at}).empty() && length > 0)
            continue; // an empty clause between separators: "list files; ; read a"
        const Span clause = without_sentence_marks(text, {rest.begin, at});
        if (!parsed.actions.empty() && clause.size() <= max_clause_bytes &&
            is_summary_follow_up(text.normal().substr(clause.begin, clause.size()))) {
            parsed.summarize = true;
            continue;
        }
        std::optional<BuiltinAction> action = parse_plain_clause(text, clause, parsed.summarize);
        if (!action)
            return std::nullopt;
        parsed.actions.push_back(std::move(*action));
    }
    if (parsed.actions.empty())
        return std::nullopt;
    return parsed;
}

const char *builtin_capabilities() {
    return "the builtin provider understands simple file and command tasks, in English or "
           "Chinese: \"summarize this project\", \"read the file PATH\" (and summarize it), "
           "\"list the files in DIR\", \"write 'TEXT' to PATH\", \"run the command: CMD\" "
           "(分析这个项目并创建摘要, 读取PATH文件并总结内容, 列出DIR目录中的文件, "
           "将'TEXT'写入PATH, 运行命令：CMD), chained with \"then\" or \"然后\"; configure a "
           "model provider (model.provider) for anything else";
}

} // namespace tr::runner
