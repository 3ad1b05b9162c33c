// libedit, or plain lines.
#include "cli/line_reader.h"

#include "cli/trusted_file.h"
#include "core/error.h"
#include "core/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

namespace tr::cli {
namespace {

// The user's history file, or an invalid descriptor after a warning. Root with another user's
// HOME (sudo -E) must not follow a link planted there, nor write a file that user owns.
UniqueFd open_history(const std::string &path) {
    const std::string directory_path = parent_directory(path);
    struct stat directory {};
    if (::stat(directory_path.c_str(), &directory) != 0) {
        std::cerr << "task-runner: no history: "
                  << system_error_text("stat " + directory_path, errno) << "\n";
        return UniqueFd();
    }
    if (const std::string why = untrusted_directory(directory); !why.empty()) {
        std::cerr << "task-runner: no history: " << directory_path << " " << why << "\n";
        return UniqueFd();
    }
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        std::cerr << "task-runner: no history: " << system_error_text("open " + path, errno)
                  << "\n";
        return UniqueFd();
    }
    struct stat file {};
    if (::fstat(fd.get(), &file) != 0 || !S_ISREG(file.st_mode) || file.st_uid != ::geteuid()) {
        std::cerr << "task-runner: no history: " << path
                  << " is not a regular file of your own; left alone\n";
        return UniqueFd();
    }
    // Tasks may name private things: the file is the user's alone.
    if ((file.st_mode & 077) != 0)
        ::fchmod(fd.get(), 0600);
    return fd;
}

} // namespace

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
        history_fd_ = open_history(history_path_);
    if (history_fd_.valid()) {
        // libedit loads only by name; /dev/fd/N names the file this descriptor has open (the
        // kernel does not walk the path again), so a link swapped in meanwhile is not followed.
        const std::string opened = "/dev/fd/" + std::to_string(history_fd_.get());
        history(history_.get(), &event, H_LOAD, opened.c_str()); // an empty new file is fine
    }
    el_set(editor_.get(), EL_CLIENTDATA, this);
    el_set(editor_.get(), EL_PROMPT, &LineReader::prompt_of);
    el_set(editor_.get(), EL_EDITOR, "emacs");
    el_set(editor_.get(), EL_HIST, history, history_.get());
    el_set(editor_.get(), EL_SIGNAL, 1); // the terminal is restored when a signal ends us
    el_source(editor_.get(), nullptr);   // the user's ~/.editrc
}

LineReader::~LineReader() {
    if (!history_ || !history_fd_.valid())
        return;
    // Rewritten in place through the descriptor opened (and checked) at the start.
    if (::ftruncate(history_fd_.get(), 0) != 0 || ::lseek(history_fd_.get(), 0, SEEK_SET) != 0)
        return;
    UniqueFd copy(::dup(history_fd_.get()));
    std::FILE *file = copy.valid() ? ::fdopen(copy.get(), "w") : nullptr;
    if (!file)
        return;
    copy.release(); // the FILE closes it
    HistEvent event;
    history(history_.get(), &event, H_SAVE_FP, file);
    std::fclose(file); // a history that could not be written is lost, the session is not
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
