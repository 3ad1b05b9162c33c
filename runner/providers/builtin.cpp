// The builtin provider: plans with builtin_parser, then calls the planned tools one at a time,
// stopping at the first failure, and writes the final answer from what the tools returned.
// No network, no randomness: the same task on the same files gives the same steps.
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

// An extractive summary: the title, the section headings and the opening paragraph, with the
// file's size. Honest about what it is: no model reads the text.
std::string summarize_text(const std::string &path, const std::string &content, long long size,
                           long long lines) {
    std::istringstream stream(content);
    std::string line, title, opening;
    std::vector<std::string> sections;
    bool in_code = false, opening_done = false;
    long long words = 0;
    while (std::getline(stream, line)) {
        std::istringstream counter(line);
        std::string word;
        while (counter >> word)
            ++words;
        const std::string t = trimmed(line);
        if (t.rfind("```", 0) == 0) {
            in_code = !in_code;
            continue;
        }
        if (in_code)
            continue;
        if (t.rfind("# ", 0) == 0 && title.empty()) {
            title = trimmed(t.substr(2));
            continue;
        }
        if (t.rfind("## ", 0) == 0) {
            sections.push_back(trimmed(t.substr(3)));
            continue;
        }
        if (t.empty() || t[0] == '#' || t[0] == '[' || t[0] == '!' || t[0] == '|' || t[0] == '<' ||
            t[0] == '-') {
            if (!opening.empty())
                opening_done = true;
            continue;
        }
        if (!opening_done)
            opening += (opening.empty() ? "" : " ") + t;
    }
    std::string summary = path + ": " + std::to_string(size) + " bytes, " + std::to_string(lines) +
                          " lines, " + std::to_string(words) + " words.";
    if (!title.empty())
        summary += "\nTitle: " + title;
    if (!sections.empty()) {
        summary += "\nSections (" + std::to_string(sections.size()) + "): ";
        for (std::size_t i = 0; i < sections.size(); ++i)
            summary += (i ? "; " : "") + sections[i];
    }
    if (!opening.empty())
        summary += "\nOpening: " + clip(opening, summary_opening_chars);
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
        for (std::size_t i = 0; i < task_.actions.size(); ++i) {
            tools.insert(task_.actions[i].tool);
            approach += (i ? ", then " : "") + task_.actions[i].description;
        }
        if (task_.summarize)
            approach += ", then summarize what was read";
        const std::size_t steps = task_.actions.size();
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
        Turn turn;
        if (!results.empty() && results.back()->is_error) {
            const Message &failed = *results.back();
            turn.final = FinalAnswer{false, failed.tool_name + " failed: " + failed.content,
                                     failed.content, task_error::tool_failed};
            return turn;
        }
        if (results.size() < task_.actions.size()) {
            const BuiltinAction &action = task_.actions[results.size()];
            turn.tool_calls.push_back(ToolCall{"builtin-" + std::to_string(results.size() + 1),
                                               action.tool, json_share(action.arguments.get()),
                                               ""});
            return turn;
        }
        FinalAnswer answer;
        for (std::size_t i = 0; i < results.size(); ++i) {
            const Outcome outcome =
                describe_result(task_.actions[i].tool, *results[i], task_.summarize);
            answer.summary += (i ? " " : "") + outcome.summary;
            answer.details += (i ? "\n\n" : "") + outcome.details;
        }
        turn.final = std::move(answer);
        return turn;
    }

private:
    BuiltinTask task_;
};

} // namespace

std::unique_ptr<Provider> make_builtin_provider() {
    return std::make_unique<BuiltinProvider>();
}

} // namespace tr::runner
