// The builtin provider: plans with builtin_parser, then calls the planned tools one at a time,
// stopping at the first failure, and writes the final answer from what the tools returned.
// A project summary lists the working directory first and reads the README that listing shows,
// so that read is planned when the listing comes back. No network, no randomness: the same task
// on the same files gives the same steps.
#include "core/json.h"
#include "runner/providers/builtin_parser.h"
#include "runner/providers/provider.h"
#include "runner/task_failure.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace tr::runner {
namespace {

constexpr std::size_t summary_opening_chars = 400;
// How many names of each kind a project summary shows.
constexpr std::size_t names_shown = 40;
// A README, in the order it is looked for (letter case aside).
constexpr const char *readme_names[] = {"readme.md",  "readme",          "readme.txt",
                                        "readme.rst", "readme.markdown", "readme.adoc",
                                        "readme.org"};

long long integer(const json_t *data, const char *key) {
    return static_cast<long long>(json_integer_value(json_object_get(data, key)));
}

std::string text(const json_t *data, const char *key) {
    const json_t *value = json_object_get(data, key);
    return json_is_string(value) ? std::string(json_string_value(value), json_string_length(value))
                                 : "";
}

std::string trimmed(const std::string &line) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos)
        return "";
    return line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
}

// Cuts at a character boundary, never inside a UTF-8 sequence.
std::string clip(const std::string &text_value, std::size_t max) {
    if (text_value.size() <= max)
        return text_value;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text_value[cut]) & 0xC0) == 0x80)
        --cut;
    return text_value.substr(0, cut) + "...";
}

// What an extractive summary takes from a text: its title, its section headings, its opening
// paragraph (prose only: badges, lists, tables and code are skipped) and its word count.
struct Outline {
    std::string title, opening;
    std::vector<std::string> sections;
    long long words = 0;
};

Outline outline_of(const std::string &content) {
    std::istringstream stream(content);
    std::string line;
    Outline outline;
    bool in_code = false, opening_done = false;
    while (std::getline(stream, line)) {
        std::istringstream counter(line);
        std::string word;
        while (counter >> word)
            ++outline.words;
        const std::string t = trimmed(line);
        if (t.rfind("```", 0) == 0) {
            in_code = !in_code;
            continue;
        }
        if (in_code)
            continue;
        if (t.rfind("# ", 0) == 0 && outline.title.empty()) {
            outline.title = trimmed(t.substr(2));
            continue;
        }
        if (t.rfind("## ", 0) == 0) {
            outline.sections.push_back(trimmed(t.substr(3)));
            continue;
        }
        if (t.empty() || t[0] == '#' || t[0] == '[' || t[0] == '!' || t[0] == '|' || t[0] == '<' ||
            t[0] == '-') {
            if (!outline.opening.empty())
                opening_done = true;
            continue;
        }
        if (!opening_done)
            outline.opening += (outline.opening.empty() ? "" : " ") + t;
    }
    return outline;
}

// An extractive summary: the title, the section headings and the opening paragraph, with the
// file's size. Honest about what it is: no model reads the text.
std::string summarize_text(const std::string &path, const std::string &content, long long size,
                           long long lines) {
    const Outline outline = outline_of(content);
    std::string summary = path + ": " + std::to_string(size) + " bytes, " + std::to_string(lines) +
                          " lines, " + std::to_string(outline.words) + " words.";
    if (!outline.title.empty())
        summary += "\nTitle: " + outline.title;
    if (!outline.sections.empty()) {
        summary += "\nSections (" + std::to_string(outline.sections.size()) + "): ";
        for (std::size_t i = 0; i < outline.sections.size(); ++i)
            summary += (i ? "; " : "") + outline.sections[i];
    }
    if (!outline.opening.empty())
        summary += "\nOpening: " + clip(outline.opening, summary_opening_chars);
    return summary;
}

struct Outcome {
    std::string summary;
    std::string details;
};

Outcome describe_result(const std::string &tool, const Message &result, bool summarize) {
    const json_t *data = result.data.get();
    if (tool == "read_file") {
        const std::string path = text(data, "path");
        const std::string brief = "Read " + path + " (" + std::to_string(integer(data, "size")) +
                                  " bytes, " + std::to_string(integer(data, "lines")) + " lines).";
        if (summarize && json_is_false(json_object_get(data, "binary")))
            return {brief, summarize_text(path, text(data, "content"), integer(data, "size"),
                                          integer(data, "lines"))};
        return {brief, result.content};
    }
    if (tool == "list_files")
        return {text(data, "path") + " has " + std::to_string(integer(data, "entries")) +
                    " entries: " + std::to_string(integer(data, "directories")) + " directories, " +
                    std::to_string(integer(data, "files")) + " files.",
                result.content};
    if (tool == "write_file")
        return {"Wrote " + std::to_string(integer(data, "bytes_written")) + " bytes to " +
                    text(data, "path") + ".",
                result.content};
    return {"`" + text(data, "command") + "` finished with exit code " +
                std::to_string(integer(data, "exit_code")) + ".",
            result.content};
}

// The entries of a listing, read back from list_files' text, one a line: "dir/",
// "file  12 bytes", "link (symlink)" (runner/tools/list_files.cpp).
struct ListedEntries {
    std::vector<std::string> directories, files, others;
};

ListedEntries listed_entries(const std::string &listing) {
    static const std::string bytes = " bytes";
    ListedEntries entries;
    std::istringstream lines(listing);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line == "(empty directory)" || line.rfind("[truncated after ", 0) == 0)
            continue;
        if (line.back() == '/') {
            entries.directories.push_back(line);
            continue;
        }
        const std::size_t gap = line.rfind("  ");
        if (gap != std::string::npos && line.size() > bytes.size() &&
            line.compare(line.size() - bytes.size(), bytes.size(), bytes) == 0)
            entries.files.push_back(line.substr(0, gap));
        else
            entries.others.push_back(line);
    }
    return entries;
}

std::string lowercase(std::string value) {
    for (char &c : value)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return value;
}

// The README a project's listing shows, if any: a regular file (a symbolic link is not
// followed out of the project on the planner's own initiative).
std::optional<std::string> readme_in(const ListedEntries &entries) {
    for (const char *wanted : readme_names)
        for (const std::string &file : entries.files)
            if (lowercase(file) == wanted)
                return file;
    return std::nullopt;
}

std::string some_names(const std::vector<std::string> &names) {
    std::string shown;
    for (std::size_t i = 0; i < names.size() && i < names_shown; ++i)
        shown += (i ? ", " : "") + names[i];
    if (names.size() > names_shown)
        shown += ", and " + std::to_string(names.size() - names_shown) + " more";
    return shown;
}

// What the README adds to a project summary: its title and opening, or why there are none.
Outcome describe_readme(const Message *readme) {
    if (!readme)
        return {"It has no README.", "No README (README.md, README, README.txt ...) in it."};
    const json_t *data = readme->data.get();
    if (readme->is_error || !json_is_false(json_object_get(data, "binary"))) {
        const std::string why = readme->is_error ? readme->content : "it is not text";
        return {"Its README could not be read.", "The README could not be read: " + why};
    }
    const std::string path = text(data, "path");
    const std::string content = text(data, "content");
    const Outline outline = outline_of(content);
    std::string summary = path;
    if (!outline.title.empty())
        summary += ": " + outline.title + ".";
    if (!outline.opening.empty())
        summary += " " + clip(outline.opening, summary_opening_chars);
    return {summary, summarize_text(path, content, integer(data, "size"), integer(data, "lines"))};
}

// An extractive summary of a project: what its listing shows, then its README's.
Outcome describe_project(const Message &listing, const Message *readme) {
    const json_t *data = listing.data.get();
    const ListedEntries entries = listed_entries(listing.content);
    const std::string counts = "The project in " + text(data, "path") + " has " +
                               std::to_string(integer(data, "entries")) + " entries (" +
                               std::to_string(integer(data, "directories")) + " directories, " +
                               std::to_string(integer(data, "files")) + " files).";
    std::string details = counts;
    if (!entries.directories.empty())
        details += "\nDirectories: " + some_names(entries.directories);
    if (!entries.files.empty())
        details += "\nFiles: " + some_names(entries.files);
    if (!entries.others.empty())
        details += "\nOther entries: " + some_names(entries.others);
    const Outcome about_readme = describe_readme(readme);
    return {counts + " " + about_readme.summary, details + "\n\n" + about_readme.details};
}

// One tool call of the task: a planned action, or the README read a project summary adds.
struct Call {
    const BuiltinAction *action = nullptr; // nullptr: the README read
    std::string tool;
    JsonPtr arguments;
};

class BuiltinProvider final : public Provider {
public:
    std::string name() const override { return "builtin"; }
    std::string model() const override { return "builtin-planner"; }
    bool calls_a_model() const override { return false; }

    PlanResult plan(const std::string &task, const std::vector<const ToolInfo *> &,
                    const TaskLimits &, const TaskControl &, const RetryObserver &) override {
        std::optional<BuiltinTask> parsed = parse_builtin_task(task);
        if (!parsed)
            throw TaskFailure(task_error::planning_failed,
                              std::string("this task was not understood: ") +
                                  builtin_capabilities());
        task_ = std::move(*parsed);
        std::set<std::string> tools;
        std::string approach;
        std::size_t steps = 0;
        for (const BuiltinAction &action : task_.actions) {
            calls_.push_back({&action, action.tool, json_share(action.arguments.get())});
            tools.insert(action.tool);
            approach += (steps ? ", then " : "") + action.description;
            ++steps;
            if (action.reads_readme) {
                tools.insert("read_file");
                approach += ", then read its README if it has one";
                ++steps;
            }
        }
        if (task_.summarize)
            approach += ", then summarize what was read";
        JsonPtr requirements(json_array());
        for (const std::string &tool : tools)
            json_array_append_new(requirements.get(), json_string(tool.c_str()));
        PlanResult result;
        result.plan.reset(
            json_pack("{s:s,s:s,s:s,s:I,s:O}", "understanding",
                      ("A simple task: " + approach + ".").c_str(), "approach",
                      ("Call " + std::string(steps == 1 ? "one tool" : "the tools in order") +
                       ": " + approach + "; stop at the first failure.")
                          .c_str(),
                      "complexity", steps == 1 ? "simple" : "moderate", "estimated_steps",
                      static_cast<json_int_t>(steps), "requirements", requirements.get()));
        return result;
    }

    Turn next_turn(const std::vector<Message> &conversation, const std::vector<const ToolInfo *> &,
                   const TaskLimits &, const TaskControl &, const RetryObserver &) override {
        std::vector<const Message *> results;
        for (const Message &message : conversation)
            if (message.role == Role::Tool)
                results.push_back(&message);
        plan_readme_reads(results);
        Turn turn;
        // A README the planner chose itself may be unreadable (too big, binary, not allowed):
        // the summary says so instead of failing the task the user asked for.
        if (!results.empty() && results.back()->is_error &&
            calls_[results.size() - 1].action != nullptr) {
            const Message &failed = *results.back();
            turn.final = FinalAnswer{false, failed.tool_name + " failed: " + failed.content,
                                     failed.content, task_error::tool_failed};
            return turn;
        }
        if (results.size() < calls_.size()) {
            const Call &call = calls_[results.size()];
            turn.tool_calls.push_back(ToolCall{"builtin-" + std::to_string(results.size() + 1),
                                               call.tool, json_share(call.arguments.get()), ""});
            return turn;
        }
        turn.final = final_answer(results);
        return turn;
    }

private:
    // After each listing of a project summary, the read of the README it shows, if any.
    void plan_readme_reads(const std::vector<const Message *> &results) {
        for (; examined_ < results.size() && examined_ < calls_.size(); ++examined_) {
            const Call &call = calls_[examined_];
            if (!call.action || !call.action->reads_readme || results[examined_]->is_error)
                continue;
            const std::optional<std::string> readme =
                readme_in(listed_entries(results[examined_]->content));
            if (!readme)
                continue;
            Call read{nullptr, "read_file", JsonPtr(json_pack("{s:s}", "path", readme->c_str()))};
            if (read.arguments) // json_pack refuses a name that is not UTF-8
                calls_.insert(calls_.begin() + static_cast<std::ptrdiff_t>(examined_) + 1,
                              std::move(read));
        }
    }

    FinalAnswer final_answer(const std::vector<const Message *> &results) const {
        FinalAnswer answer;
        for (std::size_t i = 0; i < results.size(); ++i) {
            const Call &call = calls_[i];
            if (!call.action)
                continue; // described with its listing
            Outcome outcome;
            if (call.action->reads_readme) {
                const bool has_readme = i + 1 < calls_.size() && !calls_[i + 1].action;
                outcome = describe_project(*results[i], has_readme ? results[i + 1] : nullptr);
            } else {
                outcome = describe_result(call.action->tool, *results[i], task_.summarize);
            }
            answer.summary += (answer.summary.empty() ? "" : " ") + outcome.summary;
            answer.details += (answer.details.empty() ? "" : "\n\n") + outcome.details;
        }
        return answer;
    }

    BuiltinTask task_;
    std::vector<Call> calls_;  // grows: a project's README read is added after its listing
    std::size_t examined_ = 0; // results looked at for a README to read
};

} // namespace

std::unique_ptr<Provider> make_builtin_provider() {
    return std::make_unique<BuiltinProvider>();
}

} // namespace tr::runner
