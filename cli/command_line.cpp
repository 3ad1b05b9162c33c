// Parsing a subcommand's words and rendering its help from one declaration.
#include "cli/command_line.h"

#include "cli/usage_error.h"

#include <algorithm>

namespace tr::cli {
namespace {

const Option *find_option(const Command &command, std::string_view name) {
    for (const Option &option : command.options)
        if (option.name == name)
            return &option;
    return nullptr;
}

bool is_whole_number(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string option_label(const Option &option) {
    std::string label(option.name);
    if (option.value.empty())
        return label;
    if (option.optional_value)
        return label + " [" + std::string(option.value) + "]";
    return label + " " + std::string(option.value);
}

// Wraps `text` at `width` columns, every line after the first indented by `indent`.
std::string wrapped(std::string_view text, std::size_t indent, std::size_t width) {
    std::string out;
    std::size_t column = indent;
    std::size_t start = 0;
    while (start < text.size()) {
        if (text[start] == '\n') { // a paragraph break kept as written
            out += "\n" + std::string(indent, ' ');
            column = indent;
            ++start;
            continue;
        }
        std::size_t end = text.find_first_of(" \n", start);
        if (end == std::string_view::npos)
            end = text.size();
        const std::string_view word = text.substr(start, end - start);
        if (column > indent && column + 1 + word.size() > width) {
            out += "\n" + std::string(indent, ' ');
            column = indent;
        } else if (column > indent) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        start = end < text.size() && text[end] == ' ' ? end + 1 : end;
    }
    return out;
}

[[noreturn]] void unknown_option(const Command &command, const std::string &name) {
    const std::string command_name(command.name);
    throw UsageError(command_name + ": unknown option " + name + " (see task-runner " +
                     command_name + " --help)");
}

} // namespace

bool Invocation::has(std::string_view option) const {
    return options_.find(option) != options_.end();
}

std::optional<std::string> Invocation::value(std::string_view option) const {
    const auto found = options_.find(option);
    if (found == options_.end() || found->second.empty())
        return std::nullopt;
    return found->second.back();
}

std::vector<std::string> Invocation::values(std::string_view option) const {
    const auto found = options_.find(option);
    return found == options_.end() ? std::vector<std::string>{} : found->second;
}

bool Invocation::asks_for_help(const std::vector<std::string> &words) {
    for (const std::string &word : words) {
        if (word == "--")
            return false;
        if (word == "--help" || word == "-h")
            return true;
    }
    return false;
}

Invocation Invocation::parse(const Command &command, const std::vector<std::string> &words) {
    Invocation parsed;
    const std::string prefix = std::string(command.name) + ": ";
    bool options_ended = false;
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string &word = words[i];
        if (options_ended || word.size() < 2 || word[0] != '-') {
            parsed.operands_.push_back(word);
            continue;
        }
        if (word == "--") {
            options_ended = true;
            continue;
        }
        const std::size_t equals = word.find('=');
        const std::string name = word.substr(0, equals);
        const Option *option = find_option(command, name);
        if (!option)
            unknown_option(command, name);
        if (!option->repeatable && parsed.has(name))
            throw UsageError(prefix + name + " is given twice");
        std::vector<std::string> &slot = parsed.options_[name];
        if (option->value.empty()) {
            if (equals != std::string::npos)
                throw UsageError(prefix + name + " takes no value");
            continue;
        }
        if (equals != std::string::npos) {
            slot.push_back(word.substr(equals + 1));
        } else if (option->optional_value) {
            if (i + 1 < words.size() && is_whole_number(words[i + 1]))
                slot.push_back(words[++i]);
        } else if (i + 1 < words.size()) {
            slot.push_back(words[++i]);
        } else {
            throw UsageError(prefix + name + " needs a value: " + option_label(*option));
        }
    }
    const std::size_t count = parsed.operands_.size();
    if (count < command.min_operands)
        throw UsageError(prefix + "missing " + std::string(command.operands));
    if (count > command.max_operands)
        throw UsageError(prefix + "unexpected \"" +
                         parsed.operands_[command.max_operands].substr(0, 80) + "\"" +
                         (command.max_operands == 0 ? " (it takes no operands)" : ""));
    return parsed;
}

std::string synopsis(const Command &command) {
    std::string line = "task-runner " + std::string(command.name);
    if (!command.options.empty())
        line += " [OPTIONS]";
    if (!command.operands.empty())
        line += " " + std::string(command.operands);
    return line;
}

std::string help_text(const Command &command) {
    std::string text =
        "usage: " + synopsis(command) + "\n\n" + wrapped(command.summary, 0, 100) + "\n";
    if (!command.description.empty())
        text += "\n" + wrapped(command.description, 0, 100) + "\n";
    text += "\nOptions:\n";
    std::size_t widest = std::string_view("-h, --help").size();
    for (const Option &option : command.options)
        widest = std::max(widest, option_label(option).size());
    const std::size_t indent = widest + 4;
    for (const Option &option : command.options) {
        const std::string label = option_label(option);
        text += "  " + label + std::string(indent - 2 - label.size(), ' ') +
                wrapped(option.help, indent, 100) + (option.repeatable ? " (repeatable)" : "") +
                "\n";
    }
    text += "  -h, --help" + std::string(indent - 12, ' ') + "this help\n";
    if (!command.exit_codes.empty()) {
        text += "\nExit status:\n";
        for (const ExitCode &exit : command.exit_codes) {
            const std::string code = std::to_string(exit.code);
            text += "  " + code + std::string(6 - code.size(), ' ') +
                    wrapped(exit.meaning, 8, 100) + "\n";
        }
    }
    return text;
}

} // namespace tr::cli
