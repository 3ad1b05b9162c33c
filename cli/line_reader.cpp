// libedit, or plain lines.
#include "cli/line_reader.h"

#include "core/unique_fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

namespace tr::cli {

LineReader::LineReader(std::string prompt, std::string history_path)
    : prompt_(std::move(prompt)), history_path_(std::move(history_path)) {
    if (!::isatty(STDIN_FILENO))
        return; // plain lines, no prompt, no history: a script is not a session to recall
    history_.reset(history_init());
    editor_.reset(el_init("task-runner", stdin, stdout, stderr));
    if (!history_ || !editor_) {
        editor_.reset();
        return;
    }
    HistEvent event;
    history(history_.get(), &event, H_SETSIZE, 1000);
    history(history_.get(), &event, H_SETUNIQUE, 1);
    if (!history_path_.empty())
        history(history_.get(), &event, H_LOAD, history_path_.c_str()); // none yet is fine
    el_set(editor_.get(), EL_CLIENTDATA, this);
    el_set(editor_.get(), EL_PROMPT, &LineReader::prompt_of);
    el_set(editor_.get(), EL_EDITOR, "emacs");
    el_set(editor_.get(), EL_HIST, history, history_.get());
    el_set(editor_.get(), EL_SIGNAL, 1); // the terminal is restored when a signal ends us
    el_source(editor_.get(), nullptr);   // the user's ~/.editrc
}

LineReader::~LineReader() {
    if (!history_ || history_path_.empty())
        return;
    // Tasks may name private things: the file is the user's alone, made so before it is
    // written (H_SAVE would create it with the umask's mode).
    const UniqueFd made(::open(history_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (made.valid())
        ::fchmod(made.get(), 0600);
    HistEvent event;
    history(history_.get(), &event, H_SAVE, history_path_.c_str());
}

const char *LineReader::prompt_of(EditLine *editor) noexcept {
    void *data = nullptr;
    el_get(editor, EL_CLIENTDATA, &data);
    return static_cast<LineReader *>(data)->prompt_.c_str();
}

std::optional<std::string> LineReader::read_line() {
    if (!editor_) {
        std::string line;
        if (!std::getline(std::cin, line))
            return std::nullopt;
        return line;
    }
    int count = 0;
    const char *text = el_gets(editor_.get(), &count);
    if (!text || count <= 0)
        return std::nullopt;
    std::string line(text, static_cast<std::size_t>(count));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    if (!line.empty()) {
        HistEvent event;
        history(history_.get(), &event, H_ENTER, line.c_str());
    }
    return line;
}

} // namespace tr::cli
