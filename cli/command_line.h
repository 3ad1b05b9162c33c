// How a subcommand is declared (its options, operands, help and exit codes) and how its words
// are parsed against that declaration. The same table makes `--help`, `task-runner help CMD`
// and the parser, so the help can never name an option the parser does not take, nor miss one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr::cli {

struct Option {
    std::string_view name;  // "--output"
    std::string_view value; // "text|verbose|json"; empty: a flag without a value
    std::string_view help;
    bool repeatable = false;
    // "--wait [SECONDS]": takes the next word only when it is a whole number, so
    // `submit --wait FILE` still reads FILE as the operand.
    bool optional_value = false;
};

struct ExitCode {
    int code;
    std::string_view meaning;
};

class Invocation;

struct Command {
    std::string_view name;     // "task"
    std::string_view operands; // "\"TEXT\"", shown in the synopsis
    std::string_view summary;  // one line, for the command list
    std::vector<Option> options;
    std::string_view description; // paragraphs for --help, may be empty
    std::vector<ExitCode> exit_codes;
    std::size_t min_operands = 0;
    std::size_t max_operands = 0;
    int (*run)(const Invocation &) = nullptr;
    // Commands with actions of their own (keys) take their words unparsed, after --help.
    int (*run_words)(const std::vector<std::string> &) = nullptr;
};

// The parsed words of one subcommand. Options appear under their long name ("--output").
class Invocation {
public:
    bool has(std::string_view option) const;
    std::optional<std::string> value(std::string_view option) const; // the last one given
    std::vector<std::string> values(std::string_view option) const;  // every one, in order
    const std::vector<std::string> &operands() const noexcept { return operands_; }

    // Parses `words` (the arguments after the subcommand) for `command`. Accepts "--opt VALUE",
    // "--opt=VALUE" and "--" before operands that start with a dash. Throws UsageError naming
    // the option or operand and what it wanted.
    static Invocation parse(const Command &command, const std::vector<std::string> &words);

    // Whether the words ask for help (-h or --help before any "--").
    static bool asks_for_help(const std::vector<std::string> &words);

private:
    std::map<std::string, std::vector<std::string>, std::less<>> options_;
    std::vector<std::string> operands_;
};

// The text of `task-runner CMD --help`: synopsis, description, options, exit codes.
std::string help_text(const Command &command);

// "task-runner task [OPTIONS] "TEXT"": the synopsis line.
std::string synopsis(const Command &command);

} // namespace tr::cli
