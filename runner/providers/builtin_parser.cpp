// Pattern-based parsing for the builtin provider. The text is first normalised (typographic
// and CJK quotes to ASCII, the full-width colon and space to ASCII), then split into clauses
// outside quotes, and each clause must match one of the patterns below.
//
// std::regex works on bytes here, so Chinese words appear only as literal alternatives, never
// inside a character class (a class would split their UTF-8 sequences into single bytes).
#include "runner/providers/builtin_parser.h"

#include <regex>

namespace tr::runner {
namespace {

constexpr auto icase = std::regex::ECMAScript | std::regex::icase;

// A path: quoted, or a run of non-space characters.
#define TR_PATH R"(("[^"]+"|'[^']+'|`[^`]+`|\S+))"
// A path in Chinese text, where words run into paths without spaces: ASCII path characters.
#define TR_PATH_ZH R"(("[^"]+"|'[^']+'|`[^`]+`|[A-Za-z0-9._/~+\-]+))"
// Text to write: quoted, or anything (shortest match).
#define TR_TEXT R"(("[^"]*"|'[^']*'|`[^`]*`|.+?))"

struct Pattern {
    std::regex regex;
    enum Kind { Read, Summarize, List, Write, Run } kind;
    // Write patterns: which groups hold the verb, the text and the path (word order differs).
    int verb_group = 1, text_group = 2, path_group = 3;
};

// clang-format off
const std::vector<Pattern> &patterns() {
    static const std::vector<Pattern> all = {
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
        {std::regex(R"(^(?:please\s+)?(?:run|execute|exec)(?:\s+the)?(?:\s+(?:shell\s+)?command)?\s*:?\s*(.+)$)", icase),
         Pattern::Run},

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
        {std::regex(R"(^(?:请)?(?:帮我)?(?:运行|执行)(?:一下)?(?:shell)?(?:命令|指令)?\s*:?\s*(.+)$)"), Pattern::Run},
    };
    return all;
}

// clang-format on

#undef TR_PATH
#undef TR_PATH_ZH
#undef TR_TEXT

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    std::size_t at = 0;
    while ((at = text.find(from, at)) != std::string::npos) {
        text.replace(at, from.size(), to);
        at += to.size();
    }
    return text;
}

std::string normalize(std::string_view task) {
    std::string text(task);
    for (const auto &[from, to] : {std::pair<const char *, const char *>{"\u201c", "\""},
                                   {"\u201d", "\""},
                                   {"\u2018", "'"},
                                   {"\u2019", "'"},
                                   {"\u300c", "\""},
                                   {"\u300d", "\""},
                                   {"\u300e", "\""},
                                   {"\u300f", "\""},
                                   {"\uff1a", ":"},
                                   {"\u3000", " "},
                                   {"\uff02", "\""},
                                   {"\uff07", "'"}})
        text = replace_all(text, from, to);
    return text;
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::string strip_trailing_punctuation(std::string text) {
    for (bool changed = true; changed;) {
        changed = false;
        text = trim(text);
        for (const char *mark : {".", "!", "?", "\u3002", "\uff01", "\uff1f", ","}) {
            const std::string_view m(mark);
            if (text.size() >= m.size() && text.compare(text.size() - m.size(), m.size(), m) == 0) {
                text.erase(text.size() - m.size());
                changed = true;
            }
        }
    }
    return text;
}

bool is_quote(char c) {
    return c == '"' || c == '\'' || c == '`';
}

std::string unquote(const std::string &text) {
    if (text.size() >= 2 && is_quote(text.front()) && text.back() == text.front())
        return text.substr(1, text.size() - 2);
    return text;
}

// A run clause whose command is not quoted takes the rest of the task: commands contain
// "then", ";" and "&&" of their own.
bool is_open_run_clause(const std::string &clause) {
    std::smatch match;
    for (const Pattern &pattern : patterns())
        if (pattern.kind == Pattern::Run && std::regex_match(clause, match, pattern.regex))
            return !is_quote(match.str(1).front()) || unquote(match.str(1)) == match.str(1);
    return false;
}

// Where the next clause separator starts at or after `from`, outside quotes, and its length.
std::pair<std::size_t, std::size_t> next_separator(const std::string &text, std::size_t from) {
    static const char *const separators[] = {", and then ",
                                             " and then ",
                                             ", then ",
                                             " then ",
                                             "; ",
                                             ";",
                                             "\uff1b",
                                             "\uff0c\u7136\u540e",
                                             "\u3002\u7136\u540e",
                                             "\u7136\u540e",
                                             "\uff0c\u63a5\u7740",
                                             "\u63a5\u7740",
                                             "\uff0c\u518d"};
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
        for (const char *separator : separators) {
            const std::string_view s(separator);
            if (text.size() - i >= s.size()) {
                std::string candidate = text.substr(i, s.size());
                for (char &c : candidate)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (candidate == s)
                    return {i, s.size()};
            }
        }
    }
    return {std::string::npos, 0};
}

std::vector<std::string> split_clauses(const std::string &text) {
    std::vector<std::string> clauses;
    std::size_t position = 0;
    while (position < text.size()) {
        std::string rest = trim(std::string_view(text).substr(position));
        if (rest.empty())
            break;
        for (const char *first : {"first ", "First ", "\u9996\u5148"}) // "first ...", "首先……"
            if (starts_with(rest, first))
                rest = trim(rest.substr(std::string_view(first).size()));
        if (is_open_run_clause(strip_trailing_punctuation(rest))) {
            clauses.push_back(rest);
            break;
        }
        const std::size_t start = text.find(rest, position);
        const auto [at, length] = next_separator(text, start);
        if (at == std::string::npos) {
            clauses.push_back(rest);
            break;
        }
        clauses.push_back(trim(std::string_view(text).substr(start, at - start)));
        position = at + length;
    }
    return clauses;
}

// "…, and summarize it" / "…并总结内容": removed from the clause, remembered as a flag.
bool take_summary_request(std::string &clause) {
    static const std::regex english(
        R"(^(.*?)(?:,?\s+and)?(?:\s+then)?\s+(?:summari[sz]e|give\s+(?:me\s+)?a\s+summary(?:\s+of)?)(?:\s+(?:it|them|its\s+contents?|the\s+contents?|what\s+it\s+says))?$)",
        icase);
    static const std::regex chinese(
        R"(^(.*?)(?:,|，)?(?:并且|并|然后|再)?(?:总结|概括|摘要|归纳)(?:一下)?(?:其|它的|文件的)?(?:主要)?(?:内容|要点)?$)");
    std::smatch match;
    if ((std::regex_match(clause, match, english) || std::regex_match(clause, match, chinese)) &&
        !trim(match.str(1)).empty()) {
        clause = trim(match.str(1));
        return true;
    }
    return false;
}

std::optional<BuiltinAction> parse_clause(const std::string &clause, bool &summarize) {
    std::smatch match;
    for (const Pattern &pattern : patterns()) {
        if (!std::regex_match(clause, match, pattern.regex))
            continue;
        BuiltinAction action;
        switch (pattern.kind) {
        case Pattern::Summarize: summarize = true; [[fallthrough]];
        case Pattern::Read: {
            const std::string path = unquote(match.str(1));
            if (path == "file" ||
                path == "the") // "read the file": the pattern's own words, no path
                return std::nullopt;
            action.tool = "read_file";
            action.arguments.reset(json_pack("{s:s}", "path", path.c_str()));
            action.description = "read " + path;
            break;
        }
        case Pattern::List: {
            const std::string path = match[1].matched ? unquote(match.str(1)) : ".";
            const bool recursive = match.size() > 2 && match[2].matched && match.length(2) > 0;
            action.tool = "list_files";
            action.arguments.reset(
                json_pack("{s:s,s:b}", "path", path.c_str(), "recursive", recursive));
            action.description = "list " + path + (recursive ? " recursively" : "");
            break;
        }
        case Pattern::Write: {
            static const std::regex appending("append|add|追加|追加到|追加至|添加到", icase);
            const bool append = std::regex_match(match.str(pattern.verb_group), appending);
            const std::string content = unquote(match.str(pattern.text_group));
            const std::string path = unquote(match.str(pattern.path_group));
            action.tool = "write_file";
            action.arguments.reset(json_pack("{s:s,s:s,s:b}", "path", path.c_str(), "content",
                                             content.c_str(), "append", append));
            action.description = (append ? "append to " : "write ") + path;
            break;
        }
        case Pattern::Run: {
            const std::string command = unquote(trim(match.str(1)));
            action.tool = "run_command";
            action.arguments.reset(json_pack("{s:s}", "command", command.c_str()));
            action.description = "run: " + command;
            break;
        }
        }
        if (!action.arguments) // json_pack refuses invalid UTF-8
            return std::nullopt;
        return action;
    }
    return std::nullopt;
}

} // namespace

std::optional<BuiltinTask> parse_builtin_task(std::string_view task) {
    BuiltinTask parsed;
    for (std::string clause : split_clauses(normalize(task))) {
        clause = strip_trailing_punctuation(clause);
        if (clause.empty())
            continue;
        // Commands are taken verbatim, so a trailing "and summarize" is only looked for elsewhere.
        if (!is_open_run_clause(clause) && take_summary_request(clause))
            parsed.summarize = true;
        std::optional<BuiltinAction> action = parse_clause(clause, parsed.summarize);
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
           "Chinese: \"read the file PATH\" (and summarize it), \"list the files in DIR\", "
           "\"write 'TEXT' to PATH\", \"run the command: CMD\" (读取PATH文件并总结内容, "
           "列出DIR目录中的文件, 将'TEXT'写入PATH, 运行命令：CMD), chained with \"then\" or "
           "\"然后\"; configure a model provider (model.provider) for anything else";
}

} // namespace tr::runner
