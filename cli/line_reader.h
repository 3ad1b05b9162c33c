// Where the REPL's lines come from: libedit on a terminal (line editing, history kept in a
// file), plain reads otherwise (a pipe, a file, a here-document), without a prompt.
#pragma once

#include "core/unique_fd.h"

#include <histedit.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace tr::cli {

struct EditLineEnd {
    void operator()(EditLine *editor) const noexcept { el_end(editor); }
};
struct HistoryEnd {
    void operator()(History *history) const noexcept { history_end(history); }
};

class LineReader {
public:
    // `history_path` empty: no history file. A terminal gets libedit with `prompt`. The history
    // file is opened once, without following a symbolic link, and loaded and saved through that
    // descriptor; one that is not the user's own regular file, or in a directory others can
    // write, is warned about and left alone (the session goes on without history).
    LineReader(std::string prompt, std::string history_path);
    LineReader(const LineReader &) = delete;
    LineReader &operator=(const LineReader &) = delete;
    ~LineReader(); // saves the history

    // The next line without its newline; nullopt at the end of input (Ctrl-D).
    std::optional<std::string> read_line();

    bool interactive() const noexcept { return editor_ != nullptr; }

private:
    static const char *prompt_of(EditLine *editor) noexcept;

    std::string prompt_;
    std::string history_path_;
    UniqueFd history_fd_;
    std::unique_ptr<History, HistoryEnd> history_;
    std::unique_ptr<EditLine, EditLineEnd> editor_;
};

} // namespace tr::cli
